// The fixed twin of corpus case aerospike126, modelled on aerospike/aerospike-client-go#126:
// https://github.com/aerospike/aerospike-client-go/pull/126
//
// Cluster.waitTillStabilized: the goroutine tries to put true into doneCh;
// if this happens after the timeout nobody reads the channel and the
// goroutine hangs forever.
package aerospike126

import (
	"time"
)

func waitTillStabilizedFixed(tend func() int, timeout time.Duration) {
	doneCh := make(chan bool, 1)
	go func() {
		count := -1
		for {
			n := tend()
			if n == count {
				doneCh <- true
				return
			}
			count = n
			time.Sleep(time.Millisecond)
		}
	}()
	select {
	case <-doneCh:
	case <-time.After(timeout):
	}
}
