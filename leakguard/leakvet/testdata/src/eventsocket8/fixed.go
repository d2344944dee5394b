// The fixed twin of corpus case eventsocket8, modelled on fiorix/go-eventsocket#8:
// https://github.com/fiorix/go-eventsocket/pull/8
//
// If the err channel is not buffered, the readLoop goroutine leaks hanging
// on h.err <- err once the reader has given up waiting.
package eventsocket8

import (
	"errors"
	"time"
)

func readFirstEventFixed(readLoop func() (string, error), timeout time.Duration) (string, error) {
	errc := make(chan error, 1)
	evc := make(chan string, 1)
	go func() {
		ev, err := readLoop()
		if err != nil {
			errc <- err
			return
		}
		evc <- ev
	}()
	select {
	case err := <-errc:
		return "", err
	case ev := <-evc:
		return ev, nil
	case <-time.After(timeout):
		return "", errors.New("timeout")
	}
}
