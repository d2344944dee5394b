package gaps

import "time"

// Round 8: a path takes no more values from another channel than are sent
// on it. A channel whose sends are known and few (one goroutine started
// once, sending once outside loops, and no close) gives a path at most that
// many receives; a path taking one more blocks there for good and goes no
// further.

// borrowEither is go-commons-pool's
// TestExceptionOnPassivateDuringReturnWithBorrowWaiting as written: after
// the release, each of two selects takes whichever value comes. A path
// taking nothing from ch1 takes ch2's one value twice, which cannot happen;
// every other path fails the test or takes ch1's value (and the same for ch2).
func (s *poolSuite) borrowEither(release func()) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }()
	go func() { ch2 <- s.borrow() }()
	select {
	case <-ch1:
		s.FailNow("borrowing should have blocked")
	case <-ch2:
		s.FailNow("borrowing should have blocked")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
}

// borrowEitherTwice is the leaky twin: ch2's goroutine sends twice, so the
// two selects can both take ch2 and leave ch1's sender blocked. (A path
// taking ch2 once leaves its second send blocked too; leakvet counts one
// goroutine's sends as one and misses that.)
func (s *poolSuite) borrowEitherTwice(release func()) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }() // want `goroutine leaks: its send at line 50 `
	go func() { ch2 <- s.borrow(); ch2 <- s.borrow() }()
	select {
	case <-ch1:
		s.FailNow("borrowing should have blocked")
	case <-ch2:
		s.FailNow("borrowing should have blocked")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
}

// borrowEitherClosed is the leaky twin where ch2 is closed after its
// value: a closed channel gives any number of receives.
func (s *poolSuite) borrowEitherClosed(release func()) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }() // want `goroutine leaks: its send at line 79 `
	go func() { ch2 <- s.borrow(); close(ch2) }()
	select {
	case <-ch1:
		s.FailNow("borrowing should have blocked")
	case <-ch2:
		s.FailNow("borrowing should have blocked")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
}

// borrowEitherLoop is the leaky twin where ch2's goroutine sends in a
// loop of unknown length: its sends are not counted, so nothing is bounded.
func (s *poolSuite) borrowEitherLoop(release func(), n int) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }() // want `goroutine leaks: its send at line 108 `
	go func() {                       // want `goroutine leaks: its send at line 111 `
		for range n {
			ch2 <- s.borrow()
		}
	}()
	select {
	case <-ch1:
		s.FailNow("borrowing should have blocked")
	case <-ch2:
		s.FailNow("borrowing should have blocked")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
}

// firstThenOther takes ch2's one value, then waits for it again: that
// receive blocks for good, so no path returns without ch1's value (ch2's
// sender is left when the select takes ch1: reported).
func firstThenOther(t interface{ Fatal(...any) }) int {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- 1 }()
	go func() { ch2 <- 2 }() // want `goroutine leaks: its send at line 143 `
	select {
	case v := <-ch2:
		return v + <-ch2
	case v := <-ch1:
		return v
	}
}

// firstThenOtherTwice is its leaky twin: ch2 is sent to twice.
func firstThenOtherTwice(t interface{ Fatal(...any) }) int {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- 1 }()           // want `goroutine leaks: its send at line 156 `
	go func() { ch2 <- 2; ch2 <- 3 }() // want `goroutine leaks: its send at line 157 `
	select {
	case v := <-ch2:
		return v + <-ch2
	case v := <-ch1:
		return v
	}
}

// borrowEitherHelper is the leaky twin where ch2's goroutine sends through
// a helper it calls in a loop: a send written in a callee can run more than
// once, so it is not counted.
func (s *poolSuite) borrowEitherHelper(release func(), n int) {
	ch1 := make(chan int)
	ch2 := make(chan int)
	go func() { ch1 <- s.borrow() }() // want `goroutine leaks: its send at line 172 `
	go func() {                       // want `goroutine leaks: its send at line 200 `
		for range n {
			giveTo(ch2, s.borrow())
		}
	}()
	select {
	case <-ch1:
		s.FailNow("borrowing should have blocked")
	case <-ch2:
		s.FailNow("borrowing should have blocked")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
	select {
	case <-ch1:
	case <-ch2:
	case <-time.After(time.Second):
		s.FailNow("borrow did not return")
	}
}

func giveTo(ch chan int, v int) { ch <- v }
