// The fixed twin of corpus case godet38, modelled on raff/godet#38:
// https://github.com/raff/godet/issues/38
//
// Closing the RemoteDebugger leaks the sendMessages goroutine, which waits
// for a message that is never going to come; the channel should be closed.
// Here the sender is a named function the channel is passed to.
package godet38

import (
	"errors"
)

type messageFixed struct{ method string }

func connectFixed(msgs []messageFixed, send func(messageFixed) error) error {
	requests := make(chan messageFixed)
	defer close(requests)
	go sendMessagesFixed(requests, send)
	for _, m := range msgs {
		if m.method == "" {
			return errors.New("message without method")
		}
		requests <- m
	}
	return nil
}

func sendMessagesFixed(requests chan messageFixed, send func(messageFixed) error) {
	for m := range requests {
		_ = send(m)
	}
}
