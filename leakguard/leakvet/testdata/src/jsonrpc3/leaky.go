// The leaky twin of corpus case jsonrpc3, modelled on sourcegraph/jsonrpc2#3:
// https://github.com/sourcegraph/jsonrpc2/pull/3
//
// Conn.Call registers a call and waits on its done channel, a field the
// connection's read loop sends the response on. The channel is unbuffered:
// when the caller's context is done first, Call returns, and the read loop
// blocks on its send forever (and with it every later response). The fix
// buffers done.
package jsonrpc3

import (
	"context"
	"sync"
)

type response struct {
	id  uint64
	err error
}

type call struct {
	done chan error
}

type Conn struct {
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*call
}

func NewConn(in <-chan response) *Conn {
	c := &Conn{pending: map[uint64]*call{}}
	go c.readMessages(in) // want "goroutine leaks: its send at line 46 on the field call.done \\(unbuffered\\) blocks forever when the receiver stops first"
	return c
}

func (c *Conn) readMessages(in <-chan response) {
	for r := range in {
		c.mu.Lock()
		cl := c.pending[r.id]
		delete(c.pending, r.id)
		c.mu.Unlock()
		if cl == nil {
			continue
		}
		cl.done <- r.err
		close(cl.done)
	}
}

func (c *Conn) Call(ctx context.Context, send func(id uint64) error) error {
	cl := &call{done: make(chan error)}
	c.mu.Lock()
	id := c.seq
	c.seq++
	c.pending[id] = cl
	c.mu.Unlock()
	if err := send(id); err != nil {
		return err
	}
	select {
	case err := <-cl.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
