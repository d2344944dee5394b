// The fixed twin of corpus case cig34, modelled on stevenjack/cig#34:
// https://github.com/stevenjack/cig/pull/34
//
// When Check hits an error it bails out without finishing the wait group,
// deadlocking the goroutines; the fix defers wg.Done().
package cig34

import (
	"sync"
)

func checkAllFixed(repos []string, check func(string) error, out func(string)) {
	var wg sync.WaitGroup
	for _, r := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := check(r); err != nil {
				out(err.Error())
				return
			}
			out(r)
		}()
	}
	wg.Wait()
}
