// The leaky twin of corpus case lgwt257, modelled on quii/learn-go-with-tests#257:
// https://github.com/quii/learn-go-with-tests/issues/257
//
// Racer selects on ping(a), ping(b) and a timeout; ping returns an
// unbuffered channel its goroutine sends on, so the loser (or both, on
// timeout) leaks. First-response-wins across a helper that returns the
// channel. Both calls leak the goroutine; leakvet reports its go statement
// once per channel.
package lgwt257

import (
	"errors"
	"time"
)

func ping(get func(string), url string) chan bool {
	ch := make(chan bool)
	go func() { // want "goroutine leaks: its send"
		get(url)
		ch <- true
	}()
	return ch
}

func Racer(get func(string), a, b string, timeout time.Duration) (string, error) {
	select {
	case <-ping(get, a):
		return a, nil
	case <-ping(get, b):
		return b, nil
	case <-time.After(timeout):
		return "", errors.New("timed out")
	}
}
