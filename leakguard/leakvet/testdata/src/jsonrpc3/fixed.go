// The fixed twin of corpus case jsonrpc3, modelled on sourcegraph/jsonrpc2#3:
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

type callFixed struct {
	done chan error
}

type ConnFixed struct {
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]*callFixed
}

func NewConnFixed(in <-chan response) *ConnFixed {
	c := &ConnFixed{pending: map[uint64]*callFixed{}}
	go c.readMessages(in)
	return c
}

func (c *ConnFixed) readMessages(in <-chan response) {
	for r := range in {
		c.mu.Lock()
		cl := c.pending[r.id]
		delete(c.pending, r.id)
		c.mu.Unlock()
		if cl == nil {
			continue
		}
		cl.done <- r.err // the buffer takes it when Call has gone
		close(cl.done)
	}
}

func (c *ConnFixed) Call(ctx context.Context, send func(id uint64) error) error {
	cl := &callFixed{done: make(chan error, 1)}
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
