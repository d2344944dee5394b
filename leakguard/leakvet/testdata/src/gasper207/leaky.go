// The leaky twin of corpus case gasper207, modelled on sdslabs/gasper#207:
// https://github.com/sdslabs/gasper/issues/207
//
// The goroutine ranging over the channel in GenSSH might never terminate if
// the channel is not closed: the producer returns on an error before
// closing it.
package gasper207

import (
	"errors"
)

func generate(keys []string, write func(string)) error {
	ch := make(chan string)
	go func() { // want "goroutine leaks: its receive"
		for k := range ch {
			write(k)
		}
	}()
	for _, k := range keys {
		if k == "" {
			return errors.New("empty key")
		}
		ch <- k
	}
	close(ch)
	return nil
}
