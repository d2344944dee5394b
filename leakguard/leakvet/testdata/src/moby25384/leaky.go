// The leaky twin of corpus case moby25384, modelled on moby/moby#25384 (GoBench blocking bug moby_25384, "Misuse WaitGroup"):
// https://github.com/moby/moby/pull/25384
//
// Plugin manager init adds len(plugins) to the group up front but calls
// group.Wait() inside the loop, right after starting the first goroutine,
// so Wait blocks forever on the goroutines never started.
package moby25384

import (
	"sync"
)

type plugin struct{ name string }

func initPlugins(plugins []*plugin, restore func(*plugin)) {
	var group sync.WaitGroup
	group.Add(len(plugins))
	for _, p := range plugins {
		go func(p *plugin) { // want "WaitGroup.Add at line .* counts every loop iteration"
			defer group.Done()
			restore(p)
		}(p)
		group.Wait()
	}
}
