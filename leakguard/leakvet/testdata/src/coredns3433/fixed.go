// The fixed twin of corpus case coredns3433, modelled on coredns/coredns#3433:
// https://github.com/coredns/coredns/pull/3433
//
// Call wg.Add in the main goroutine: if the goroutine calls wg.Add itself,
// the main goroutine may reach Wait before it runs.
package coredns3433

import (
	"sync"
)

func serveAllFixed(servers []func()) {
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s()
		}()
	}
	wg.Wait()
}
