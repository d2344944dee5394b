// Package fieldescape holds channel fields leakvet must give up on: code
// it cannot see may send on, receive from or close them. Nothing here may
// be reported.
package fieldescape

import (
	"os"
	"os/signal"
	"time"
)

// Exported fields: another package may close Quit or send on In.
type Worker struct {
	Quit chan struct{}
	In   chan int
}

func NewWorker() *Worker {
	w := &Worker{Quit: make(chan struct{}), In: make(chan int)}
	go func() {
		for range w.In {
		}
	}()
	go func() { <-w.Quit }()
	return w
}

// A channel from the caller: whoever made it may close it.
type watcher struct{ stop chan struct{} }

func Watch(stop chan struct{}) {
	w := &watcher{stop: stop}
	go w.loop()
}

func (w *watcher) loop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

// Handed to another package, which sends on it.
type notifier struct{ sig chan os.Signal }

func Notify() {
	n := &notifier{sig: make(chan os.Signal, 1)}
	signal.Notify(n.sig, os.Interrupt)
	go func() { <-n.sig }()
}

// Returned as a bidirectional channel: the caller may close it.
type feed struct{ out chan int }

func NewFeed() (*feed, chan int) {
	f := &feed{out: make(chan int)}
	go func() {
		for range f.out {
		}
	}()
	return f, f.out
}

// Returned as a receive-only channel: the caller may receive, so a send
// is not known to block.
type pub struct{ events chan int }

func NewPub() (*pub, <-chan int) {
	p := &pub{events: make(chan int)}
	go func() { p.events <- 1 }()
	return p, p.events
}

// Closed through a copy held in a local variable, and through a helper.
type closer struct{ done chan struct{} }

func NewCloser() *closer {
	c := &closer{done: make(chan struct{})}
	go func() { <-c.done }()
	return c
}

func (c *closer) Close() { shut(c.done) }

func shut(ch chan struct{}) { close(ch) }
