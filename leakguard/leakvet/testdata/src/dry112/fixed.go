// The fixed twin of corpus case dry112, modelled on moncho/dry#112:
// https://github.com/moncho/dry/pull/112
//
// Add to the WaitGroup before starting the goroutine; otherwise the main
// goroutine may continue past Wait before the goroutine has even started.
package dry112

import (
	"sync"
)

func renderAllFixed(widgets []func()) {
	var wg sync.WaitGroup
	for _, w := range widgets {
		wg.Add(1)
		go renderFixed(&wg, w)
	}
	wg.Wait()
}

func renderFixed(wg *sync.WaitGroup, w func()) {
	defer wg.Done()
	w()
}
