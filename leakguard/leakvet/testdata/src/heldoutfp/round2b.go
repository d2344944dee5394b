package heldoutfp

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The false positives of the second round's batch 6 (TRIAGE.md).

// go-ethereum console/console.go: the reader answers each prompt the owner
// sends with one line, into a buffer of one; the owner closes the prompts
// on its way out.
func interactive(read func(string) (string, error), stopped <-chan struct{}) {
	lines := make(chan string, 1)
	errs := make(chan error, 1)
	prompts := make(chan string)
	go readLines(read, prompts, lines, errs)
	defer close(prompts)
	for {
		prompts <- "> "
		select {
		case <-stopped:
			return
		case <-errs:
			return
		case l := <-lines:
			if l == "exit" {
				return
			}
		}
	}
}

func readLines(read func(string) (string, error), prompts <-chan string, lines chan<- string, errs chan<- error) {
	for p := range prompts {
		l, err := read(p)
		if err != nil {
			errs <- err
		} else {
			lines <- l
		}
	}
}

// go-ethereum core/sender_cacher.go: workers of a singleton made by
// sync.OnceValue, through an unexported constructor nothing else calls.
type senderCacher struct {
	tasks chan []int
}

var theSenderCacher = sync.OnceValue(func() *senderCacher { return newSenderCacher(4) })

func newSenderCacher(threads int) *senderCacher {
	c := &senderCacher{tasks: make(chan []int, threads)}
	for range threads {
		go c.cache()
	}
	return c
}

func (c *senderCacher) cache() {
	for task := range c.tasks {
		_ = task
	}
}

func (c *senderCacher) recover(txs []int) { c.tasks <- txs }

func recoverSenders(txs []int) { theSenderCacher().recover(txs) }

// go-ethereum p2p/dial.go: the scheduler's loop can leave on ctx.Done(),
// but drains doneCh for every dial still running before it returns.
type dialer struct {
	ctx     context.Context
	doneCh  chan int
	dialing map[int]bool
}

func newDialer(ctx context.Context) *dialer {
	d := &dialer{ctx: ctx, doneCh: make(chan int), dialing: map[int]bool{}}
	go d.loop()
	return d
}

func (d *dialer) loop() {
	for {
		select {
		case id := <-d.doneCh:
			delete(d.dialing, id)
		case <-d.ctx.Done():
			for range d.dialing {
				<-d.doneCh
			}
			return
		}
	}
}

func (d *dialer) startDial(id int, dial func(int)) {
	d.dialing[id] = true
	go func() {
		dial(id)
		d.doneCh <- id
	}()
}

// go-ethereum rpc/client.go: the dispatcher drains the read loop's error in
// a deferred closure when it leaves.
type client struct {
	close   chan struct{}
	readErr chan error
	readOp  chan int
}

func newClient(read func() (int, error)) *client {
	c := &client{close: make(chan struct{}), readErr: make(chan error), readOp: make(chan int)}
	go c.dispatch(read)
	return c
}

func (c *client) Close() { close(c.close) }

func (c *client) dispatch(read func() (int, error)) {
	reading := true
	defer func() {
		if reading {
			c.drainRead()
		}
	}()
	go c.read(read)
	for {
		select {
		case <-c.close:
			return
		case <-c.readOp:
		case <-c.readErr:
			reading = false
		}
	}
}

func (c *client) drainRead() {
	for {
		select {
		case <-c.readOp:
		case <-c.readErr:
			return
		}
	}
}

func (c *client) read(read func() (int, error)) {
	for {
		op, err := read()
		if err != nil {
			c.readErr <- err
			return
		}
		c.readOp <- op
	}
}

// fasthttp header.go: the date refresher started under sync.Once, which
// is given the function itself.
var (
	dateOnce sync.Once
	dateNow  []byte
)

func refreshDate() { dateNow = []byte("now") }

func updateDate() {
	refreshDate()
	go func() {
		for {
			time.Sleep(time.Second)
			refreshDate()
		}
	}()
}

func serverDate() []byte {
	dateOnce.Do(updateDate)
	return dateNow
}

// fasthttp server_test.go TestShutdown: the owner counts the values of
// three channels, one sender each, and leaves when it has all three.
func shutdownAll(t *testing.T, serve, dial, shutdown func()) {
	served := make(chan struct{})
	dialed := make(chan struct{})
	down := make(chan struct{})
	go func() { serve(); served <- struct{}{} }()
	go func() { dial(); dialed <- struct{}{} }()
	go func() { shutdown(); down <- struct{}{} }()
	done := 0
	for {
		select {
		case <-time.After(time.Second):
			t.Fatal("shutdown took too long")
		case <-served:
			done++
		case <-dialed:
			done++
		case <-down:
			done++
		}
		if done == 3 {
			return
		}
	}
}

// The false positives of batch 9.

// bigcache bigcache_test.go: the jobs are queued and the channel closed
// before the workers start.
func appendAll(keys []string, add func(string)) {
	jobs := make(chan string, len(keys))
	for _, k := range keys {
		jobs <- k
	}
	close(jobs)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, ok := <-jobs
				if !ok {
					break
				}
				add(k)
			}
		}()
	}
	wg.Wait()
}

// go-yamux session_test.go: a channel and its one sender per iteration.
func transferAll(t *testing.T, open func() error) {
	for i := 0; i < 10; i++ {
		errs := make(chan error, 1)
		go func() {
			defer close(errs)
			if err := open(); err != nil {
				errs <- err
				return
			}
		}()
		if i < 0 {
			t.Fatal("never")
		}
	}
}

// paho.golang client.go: the reader hands over to a new reader as its last
// act; between them they send once.
type conn struct{ read func() (int, error) }

func (c *conn) expectAck(acks chan<- int, errs chan<- error) {
	v, err := c.read()
	switch {
	case err != nil:
		errs <- err
	case v == 0:
		go c.expectAck(acks, errs) // not an ack yet: read the next packet
	default:
		acks <- v
	}
}

func (c *conn) connect(ctx context.Context) (int, error) {
	acks := make(chan int, 1)
	errs := make(chan error, 1)
	go c.expectAck(acks, errs)
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case err := <-errs:
		return 0, err
	case v := <-acks:
		return v, nil
	}
}

// workerpool workerpool.go: the select is in a function its dispatcher
// calls in a loop; its return is no end of receiving.
type pool struct {
	tasks   chan func()
	workers chan func()
	waiting []func()
}

func newPool() *pool {
	p := &pool{tasks: make(chan func()), workers: make(chan func())}
	go p.dispatch()
	return p
}

func (p *pool) Stop() { close(p.tasks) }

func (p *pool) dispatch() {
	for len(p.waiting) > 0 || true {
		if !p.step() {
			return
		}
	}
}

func (p *pool) step() bool {
	var next func()
	if len(p.waiting) > 0 {
		next = p.waiting[0]
	}
	select {
	case task, ok := <-p.tasks:
		if !ok {
			return false
		}
		p.waiting = append(p.waiting, task)
	case p.workers <- next:
		p.waiting = p.waiting[1:]
	}
	return true
}

func (p *pool) submit(f func()) { p.tasks <- f }

func pauseLater(p *pool) { go p.submit(func() {}) }

// The false positives of batch 10 (datadog-go statsd/sender.go,
// influxdb-client-go api/write.go): the loop answers a flush request on the
// channel it took it from; it cannot have stopped while it sends.
type sender struct {
	queue       chan []byte
	stop        chan struct{}
	flushSignal chan struct{}
}

func newSender() *sender {
	s := &sender{queue: make(chan []byte, 8), stop: make(chan struct{}), flushSignal: make(chan struct{})}
	go s.sendLoop()
	return s
}

func (s *sender) sendLoop() {
	defer close(s.stop)
	for {
		select {
		case <-s.queue:
		case <-s.stop:
			return
		case <-s.flushSignal:
			s.flushSignal <- struct{}{}
		}
	}
}

func (s *sender) flush() {
	s.flushSignal <- struct{}{}
	<-s.flushSignal
}

func (s *sender) close() {
	s.stop <- struct{}{}
	<-s.stop
}

// The false positive of batch 11 (clickhouse-go clickhouse_test.go): the
// senders report only failures, which fail the test; a closer closes the
// channel once they are all done, and the owner's range (no loop in go/ssa,
// since its body always calls t.Fatal) ends at that close.
func openAll(t *testing.T, open func() error) {
	errs := make(chan error)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if err := open(); err != nil {
				errs <- err
			}
		})
	}
	go func() {
		wg.Wait()
		close(errs)
	}()
	for err := range errs {
		t.Fatal(err)
	}
}

// prometheus rules/manager.go: wg.Add(1) before each goroutine of the first
// loop, wg.Add(len(old)) for the second loop; the first loop may skip its
// go statement.
func update(groups map[string]int, old map[string]int, stop func(int)) {
	var wg sync.WaitGroup
	for name, g := range groups {
		if _, ok := old[name]; ok {
			continue
		}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			stop(g)
		}(g)
	}
	wg.Add(len(old))
	for _, g := range old {
		go func(g int) {
			defer wg.Done()
			stop(g)
		}(g)
	}
	wg.Wait()
}
