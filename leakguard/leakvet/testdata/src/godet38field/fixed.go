// The fixed twin of corpus case godet38field, modelled on raff/godet#38:
// https://github.com/raff/godet/issues/38
//
// Closing the RemoteDebugger leaks the sendMessages goroutine, which waits
// for a message that is never going to come; the channel should be closed
// when calling Close. This twin keeps the channel where godet keeps it, in
// a field of the RemoteDebugger (corpus case godet38 is the same bug with
// the channel in a local variable).
package godet38field

import "io"

type RemoteDebuggerFixed struct {
	conn     io.Closer
	send     func(params) error
	requests chan params
}

func ConnectFixed(conn io.Closer, send func(params) error) *RemoteDebuggerFixed {
	r := &RemoteDebuggerFixed{conn: conn, send: send, requests: make(chan params)}
	go r.sendMessages()
	return r
}

func (r *RemoteDebuggerFixed) sendMessages() {
	for p := range r.requests {
		_ = r.send(p)
	}
}

func (r *RemoteDebuggerFixed) SendRequest(p params) { r.requests <- p }

func (r *RemoteDebuggerFixed) Close() error {
	close(r.requests)
	return r.conn.Close()
}
