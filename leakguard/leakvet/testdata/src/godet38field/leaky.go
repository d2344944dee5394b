// The leaky twin of corpus case godet38field, modelled on raff/godet#38:
// https://github.com/raff/godet/issues/38
//
// Closing the RemoteDebugger leaks the sendMessages goroutine, which waits
// for a message that is never going to come; the channel should be closed
// when calling Close. This twin keeps the channel where godet keeps it, in
// a field of the RemoteDebugger (corpus case godet38 is the same bug with
// the channel in a local variable).
package godet38field

import "io"

type params map[string]any

type RemoteDebugger struct {
	conn     io.Closer
	send     func(params) error
	requests chan params
}

func Connect(conn io.Closer, send func(params) error) *RemoteDebugger {
	r := &RemoteDebugger{conn: conn, send: send, requests: make(chan params)}
	go r.sendMessages() // want "goroutine leaks: it receives from the field RemoteDebugger.requests at line 28 in a loop that only a close of RemoteDebugger.requests ends"
	return r
}

func (r *RemoteDebugger) sendMessages() {
	for p := range r.requests {
		_ = r.send(p)
	}
}

func (r *RemoteDebugger) SendRequest(p params) { r.requests <- p }

func (r *RemoteDebugger) Close() error { return r.conn.Close() }
