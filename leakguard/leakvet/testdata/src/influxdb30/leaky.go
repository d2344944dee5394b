// The leaky twin of corpus case influxdb30, modelled on influxdata/influxdb-client-go#30:
// https://github.com/influxdata/influxdb-client-go/issues/30
//
// writer.go: two early exit points on non-nil errors skip the WaitGroup
// decrement, which ultimately deadlocks the Wait() in Stop(). Should defer
// w.wg.Done() as soon as possible.
package influxdb30

import (
	"sync"
)

type writer struct {
	wg sync.WaitGroup
}

func (w *writer) start(connect, flush func() error) {
	w.wg.Add(1)
	go func() { // want "goroutine returns without WaitGroup.Done"
		if err := connect(); err != nil {
			return
		}
		if err := flush(); err != nil {
			return
		}
		w.wg.Done()
	}()
}

func (w *writer) Stop() {
	w.wg.Wait()
}
