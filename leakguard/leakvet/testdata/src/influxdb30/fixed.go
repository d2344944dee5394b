// The fixed twin of corpus case influxdb30, modelled on influxdata/influxdb-client-go#30:
// https://github.com/influxdata/influxdb-client-go/issues/30
//
// writer.go: two early exit points on non-nil errors skip the WaitGroup
// decrement, which ultimately deadlocks the Wait() in Stop(). Should defer
// w.wg.Done() as soon as possible.
package influxdb30

import (
	"sync"
)

type writerFixed struct {
	wg sync.WaitGroup
}

func (w *writerFixed) start(connect, flush func() error) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := connect(); err != nil {
			return
		}
		if err := flush(); err != nil {
			return
		}
	}()
}

func (w *writerFixed) Stop() {
	w.wg.Wait()
}
