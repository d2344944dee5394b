// The leaky twin of corpus case promscale1614, modelled on timescale/promscale#1614:
// https://github.com/timescale/promscale/pull/1614
//
// Using unbuffered channels to receive in a select block leaks the writer
// when another branch of the select is taken (fixes
// timescale/promscale#1604).
package promscale1614

import (
	"context"
)

func fetchSeries(ctx context.Context, fetch func() ([]string, error)) ([]string, error) {
	type reply struct {
		series []string
		err    error
	}
	replies := make(chan reply)
	go func() { // want "goroutine leaks: its send"
		s, err := fetch()
		replies <- reply{s, err}
	}()
	select {
	case r := <-replies:
		return r.series, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
