// The fixed twin of corpus case pulsar498, modelled on apache/pulsar-client-go#498:
// https://github.com/apache/pulsar-client-go/issues/498
//
// A range over a channel that is never closed never ends: the goroutine
// stays in memory after its owner is done.
package pulsar498

type commandFixed struct{ id int }

func dispatchFixed(incoming []commandFixed, handle func(commandFixed)) {
	pending := make(chan commandFixed, 10)
	defer close(pending)
	go func() {
		for c := range pending {
			handle(c)
		}
	}()
	for _, c := range incoming {
		pending <- c
	}
}
