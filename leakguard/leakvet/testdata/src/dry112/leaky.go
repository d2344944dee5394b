// The leaky twin of corpus case dry112, modelled on moncho/dry#112:
// https://github.com/moncho/dry/pull/112
//
// Add to the WaitGroup before starting the goroutine; otherwise the main
// goroutine may continue past Wait before the goroutine has even started.
package dry112

import (
	"sync"
)

func renderAll(widgets []func()) {
	var wg sync.WaitGroup
	for _, w := range widgets {
		go render(&wg, w) // want "goroutine calls WaitGroup.Add"
	}
	wg.Wait()
}

func render(wg *sync.WaitGroup, w func()) {
	wg.Add(1)
	defer wg.Done()
	w()
}
