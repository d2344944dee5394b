package gaps

import "sync"

// Gap 3: a goroutine that calls Done twice on its way out pays two of the
// Add's count, not one; and one that pays twice on one path but once on
// another pays once (its poorest path), so its under-payment is not hidden.

// stagesTwice counts two stages per job and each goroutine pays both:
// every way round the loop pays the two Dones Add(2*len(jobs)) gives it.
func stagesTwice(jobs []int, stage func(int, int)) {
	var wg sync.WaitGroup
	wg.Add(2 * len(jobs))
	for _, j := range jobs {
		go func() {
			defer wg.Done()
			stage(j, 1)
			wg.Done()
			stage(j, 2)
		}()
	}
	wg.Wait()
}

// stagesShort is stagesTwice with a first stage that can fail: on that
// path the goroutine pays one of its two Dones, and Wait blocks forever.
func stagesShort(jobs []int, stage func(int, int) error) {
	var wg sync.WaitGroup
	wg.Add(2 * len(jobs))
	for _, j := range jobs {
		go func() { // want `WaitGroup.Add at line 29 counts every loop iteration, but an iteration can start fewer than the 2 goroutines it counts for each`
			defer wg.Done()
			if stage(j, 1) != nil {
				return
			}
			wg.Done()
			stage(j, 2)
		}()
	}
	wg.Wait()
}

// handshakeShort counts one goroutine twice (its two halves) and its
// failing path pays once.
func handshakeShort(dial func() error, serve func()) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // want `goroutine calls WaitGroup.Done once where the Add at line 47 counts 2 for it`
		if err := dial(); err != nil {
			wg.Done()
			return
		}
		wg.Done()
		serve()
		wg.Done()
	}()
	wg.Wait()
}

// handshakeBoth is handshakeShort fixed: the failing path pays both.
func handshakeBoth(dial func() error, serve func()) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := dial(); err != nil {
			wg.Done()
			return
		}
		wg.Done()
		serve()
	}()
	wg.Wait()
}

// acceptTwo is go-libp2p's webrtc transport_test.go: an Add(3) for one
// goroutine and the two it starts; its children pay the rest.
func acceptTwo(accept func() error) {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for range 2 {
			go func() {
				defer wg.Done()
				accept()
			}()
		}
	}()
	wg.Wait()
}

// onlyDeferred is handshakeShort with one deferred Done for an Add(2):
// every path pays one.
func onlyDeferred(serve func()) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // want `goroutine calls WaitGroup.Done once where the Add at line 97 counts 2 for it`
		defer wg.Done()
		serve()
	}()
	wg.Wait()
}

// conn is nats.go's Conn: one Add(2) for two loops, each paying one; the
// flusher's receiver is captured by a closure (a cell leakvet does not
// follow back to the go statement's argument).
type conn struct {
	wg    sync.WaitGroup
	quit  chan struct{}
	onErr func(func())
}

func (c *conn) start() {
	c.wg.Add(2)
	go c.readLoop()
	go c.flusher()
}

func (c *conn) readLoop() {
	defer c.wg.Done()
	<-c.quit
}

func (c *conn) flusher() {
	defer c.wg.Done()
	c.onErr(func() { c.close() })
	<-c.quit
}

func (c *conn) close() {
	close(c.quit)
	c.wg.Wait()
}
