// The leaky twin of corpus case godeep25, modelled on patrikeh/go-deep#25:
// https://github.com/patrikeh/go-deep/pull/25
//
// Fix goroutine leaks caused by unclosed channel: the training workers
// range over the work channel, which the trainer never closes.
package godeep25

import (
	"sync"
)

func train(batches [][]float64, workers int, fit func([]float64)) {
	work := make(chan []float64)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		go func() { // want "goroutine leaks: its receive"
			for b := range work {
				fit(b)
				wg.Done()
			}
		}()
	}
	for _, b := range batches {
		wg.Add(1)
		work <- b
	}
	wg.Wait()
}
