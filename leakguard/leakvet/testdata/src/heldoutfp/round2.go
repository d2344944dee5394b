package heldoutfp

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The false positives of the second round's tuning batch (batch 5 in
// TRIAGE.md).

// franz-go pkg/kgo/internal/xsync/mutex_test.go: n goroutines each take one
// value, and the owner sends n times in a loop of its own.
func parallelReaders(n int) {
	unlock := make(chan bool)
	done := make(chan bool)
	for i := 0; i < n; i++ {
		go func() {
			<-unlock
			done <- true
		}()
	}
	for i := 0; i < n; i++ {
		unlock <- true
	}
	for i := 0; i < n; i++ {
		<-done
	}
}

// The same with for range n, whose guard (0 < n) skips the rotated receive
// loop only when no goroutine was started either.
func parallelReadersRange(n int) {
	unlock := make(chan bool)
	done := make(chan bool)
	for range n {
		go func() {
			<-unlock
			done <- true
		}()
	}
	for range n {
		unlock <- true
	}
	for range n {
		<-done
	}
}

// nats.go test/conn_test.go: the goroutine receives in a counted loop, on
// one of its iterations only; the owner sends once.
func serveTwo(accept func(int) bool) {
	next := make(chan bool, 1)
	go func() {
		for i := 0; i < 2; i++ {
			if !accept(i) {
				return
			}
			if i == 0 {
				<-next
			}
		}
	}()
	next <- true
}

// paho.mqtt.golang unit_router_test.go: the goroutine calls Done before it
// sends, so the owner's Wait does not wait for the send; the owner takes the
// value later or fails the test.
func BenchmarkDispatch(b *testing.B) {
	var wg sync.WaitGroup
	wg.Add(1)
	stopped := make(chan bool)
	go func() {
		wg.Done()
		time.Sleep(time.Millisecond)
		stopped <- true
	}()
	wg.Wait()
	select {
	case <-stopped:
	case <-time.After(time.Second):
		b.Errorf("dispatch should have stopped")
	}
}

// pulsar-client-go pulsar/internal/memory_limit_controller_test.go: the
// owner receives through a helper it calls at several places, in a loop.
func awaitValue(ch chan int) bool {
	select {
	case <-ch:
		return true
	case <-time.After(time.Second):
		return false
	}
}

func stepRelease(t *testing.T, release func()) {
	ch := make(chan int, 1)
	for i := 0; i < 10; i++ {
		go func() { ch <- 1 }()
	}
	if awaitValue(ch) {
		t.Log("one")
	}
	for i := 0; i < 10; i++ {
		release()
		if !awaitValue(ch) {
			t.Error("no value")
		}
	}
}

// pulsar-client-go pulsar/consumer_partition.go: a send on an unbuffered
// field whose receiver can stop first, made in a function the goroutine
// calls under a state check (here before the receiver is even started).
type consumer struct {
	clearQueue chan func()
	closing    chan struct{}
	ready      atomic.Bool
}

func (c *consumer) dispatch() {
	for {
		select {
		case <-c.closing:
			return
		case f := <-c.clearQueue:
			f()
		}
	}
}

func (c *consumer) Close() { close(c.closing) }

func (c *consumer) clearQueueNow() {
	if !c.ready.Load() {
		return
	}
	c.clearQueue <- func() {}
}

func newConsumer() *consumer {
	c := &consumer{clearQueue: make(chan func()), closing: make(chan struct{})}
	c.clearQueueNow()
	c.ready.Store(true)
	go c.dispatch()
	return c
}

func startConsumers(n int) {
	for range n {
		go func() { _ = newConsumer() }()
	}
}

// cometbft internal/clist: a WaitGroup used as a latch, released by the
// first push; the goroutine owes it no Done.
type list struct {
	mu  sync.Mutex
	wg  *sync.WaitGroup
	len int
}

func (l *list) push() {
	l.mu.Lock()
	if l.len == 0 {
		l.wg.Done()
	}
	l.len++
	l.mu.Unlock()
}

func (l *list) frontWait() {
	l.mu.Lock()
	wg := l.wg
	l.mu.Unlock()
	wg.Wait()
}

func pushLater(l *list) {
	go l.push()
	l.frontWait()
}

// cometbft internal/flowrate/util.go: a clock started once per process, by
// a compare-and-swap on a package-level flag.
var (
	clockStarted atomic.Bool
	clockNow     atomic.Int64
)

func ensureClock() {
	if !clockStarted.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for t := range time.Tick(20 * time.Millisecond) {
			clockNow.Store(t.UnixNano())
		}
	}()
}

// go-libp2p-pubsub rpc_queue_test.go: the push blocks until the queue is
// closed, which makes it panic; the goroutine swallows the panic, so its
// send never runs.
func pushBlocked(push func(), closeQueue func()) {
	finished := make(chan struct{})
	go func() {
		defer func() { recover() }()
		push()
		finished <- struct{}{}
	}()
	select {
	case <-finished:
	default:
	}
	closeQueue()
}
