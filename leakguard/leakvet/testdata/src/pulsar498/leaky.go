// The leaky twin of corpus case pulsar498, modelled on apache/pulsar-client-go#498:
// https://github.com/apache/pulsar-client-go/issues/498
//
// A range over a channel that is never closed never ends: the goroutine
// stays in memory after its owner is done.
package pulsar498

type command struct{ id int }

func dispatch(incoming []command, handle func(command)) {
	pending := make(chan command, 10)
	go func() { // want "goroutine leaks: its receive"
		for c := range pending {
			handle(c)
		}
	}()
	for _, c := range incoming {
		pending <- c
	}
}
