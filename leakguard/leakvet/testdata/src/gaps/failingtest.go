package gaps

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
)

// Round 7, gap 1: testify's suite fails the test through its Assertions'
// methods (s.FailNow, s.Require().Fail); a path through one is a failing
// test, as one through t.FailNow is.

type poolSuite struct {
	suite.Suite
	borrow func() int
}

// borrowBlocks is go-commons-pool's
// TestExceptionOnPassivateDuringReturnWithBorrowWaiting: a borrow that
// returns early fails the suite; then each goroutine's one value is taken.
func (s *poolSuite) borrowBlocks(release func()) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }()
	go func() { ch2 <- s.borrow() }()
	select {
	case <-ch1:
		s.FailNow("borrowing should have blocked")
	case <-ch2:
		s.Require().Fail("borrowing should have blocked")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-time.After(time.Second):
		s.Assert().Fail("borrow did not return")
	}
	select {
	case <-ch2:
	case <-time.After(time.Second):
		s.T().FailNow()
	}
}

// borrowLeaky logs where borrowBlocks fails: a borrow that returns early
// leaves the other side's goroutine blocked, on a passing run.
func (s *poolSuite) borrowLeaky(release func()) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }() // want `goroutine leaks: its send at line 54 `
	go func() { ch2 <- s.borrow() }() // want `goroutine leaks: its send at line 55 `
	select {
	case <-ch1:
		s.T().Log("borrowing did not block")
	case <-ch2:
		s.T().Log("borrowing did not block")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-time.After(time.Second):
		s.T().Log("borrow did not return")
	}
	select {
	case <-ch2:
	case <-time.After(time.Second):
		s.T().Log("borrow did not return")
	}
}

// Round 7, gap 2: after a polling loop runs out its bound, the test asserts
// a flag only the loop's receive sets; on a path that receives nothing the
// flag keeps its first value, and the assertion fails the test.

// handshakePair is pion/sctp's TestAssocHandshakeWithInitAckDropped shape
// (association_test.go): two handshakes in goroutines, a loop that polls
// them 1000 times, then testify asserts that both happened.
func handshakePair(t *testing.T, tick func(), dialA, dialB func()) {
	aCh := make(chan bool)
	bCh := make(chan bool)
	go func() { dialA(); aCh <- true }()
	go func() { dialB(); bCh <- true }()
	aDone, bDone := false, false
loop:
	for range 1000 {
		tick()
		select {
		case aDone = <-aCh:
			if bDone {
				break loop
			}
		case bDone = <-bCh:
			if aDone {
				break loop
			}
		default:
		}
	}
	assert.Equal(t, aDone, true, "handshake failed a")
	assert.Equal(t, true, bDone, "handshake failed b")
}

// handshakeRequire asserts with require and with an if around t.Fatal.
func handshakeRequire(t *testing.T, tick func(), dialA, dialB func()) {
	aCh := make(chan bool)
	bCh := make(chan bool)
	go func() { dialA(); aCh <- true }()
	go func() { dialB(); bCh <- true }()
	aDone, bDone := false, false
	for i := 0; i < 1000 && !(aDone && bDone); i++ {
		tick()
		select {
		case aDone = <-aCh:
		case bDone = <-bCh:
		default:
		}
	}
	require.True(t, aDone)
	if !bDone {
		t.Fatal("handshake failed b")
	}
}

// handshakeLogged only logs a handshake that did not happen: a passing run
// leaves its goroutine blocked.
func handshakeLogged(t *testing.T, tick func(), dialA, dialB func()) {
	aCh := make(chan bool)
	bCh := make(chan bool)
	go func() { dialA(); aCh <- true }() // want `goroutine leaks: its send at line 134 `
	go func() { dialB(); bCh <- true }() // want `goroutine leaks: its send at line 135 `
	aDone, bDone := false, false
	for i := 0; i < 1000 && !(aDone && bDone); i++ {
		tick()
		select {
		case aDone = <-aCh:
		case bDone = <-bCh:
		default:
		}
	}
	if !aDone || !bDone {
		t.Logf("handshake failed: %v %v", aDone, bDone)
	}
}

// handshakeProbed asserts flags the test may also set without a receive:
// the assertion can pass with the goroutine still blocked.
func handshakeProbed(t *testing.T, tick func(), probe func() bool, dialA, dialB func()) {
	aCh := make(chan bool)
	bCh := make(chan bool)
	go func() { dialA(); aCh <- true }() // want `goroutine leaks: its send at line 155 `
	go func() { dialB(); bCh <- true }() // want `goroutine leaks: its send at line 156 `
	aDone, bDone := false, false
	for i := 0; i < 1000 && !(aDone && bDone); i++ {
		tick()
		select {
		case aDone = <-aCh:
		case bDone = <-bCh:
		default:
		}
	}
	aDone = aDone || probe()
	bDone = bDone || probe()
	require.True(t, aDone)
	require.True(t, bDone)
}
