// The fixed twin of corpus case impi14, modelled on pavius/impi#14:
// https://github.com/pavius/impi/pull/14
//
// Workers were spun up before the results channel was read; with an
// errgroup, Wait returns only when the workers are done, and they are
// blocked sending results nobody reads yet.
package impi14

import (
	"golang.org/x/sync/errgroup"
)

func verifyFixed(paths []string, check func(string) string) ([]string, error) {
	results := make(chan string)
	var g errgroup.Group
	for _, p := range paths {
		g.Go(func() error {
			results <- check(p)
			return nil
		})
	}
	go func() {
		_ = g.Wait()
		close(results)
	}()
	var out []string
	for r := range results {
		out = append(out, r)
	}
	return out, nil
}
