// The leaky twin of corpus case wrangler174, modelled on rancher/wrangler#174:
// https://github.com/rancher/wrangler/pull/174
//
// for range ticker.Context() in a goroutine: the ticker channel is never
// closed, so the goroutine never exits after its context ends.
package wrangler174

import (
	"context"
	"time"
)

func tickerContext(ctx context.Context, d time.Duration) <-chan time.Time {
	ticker := time.NewTicker(d)
	go func() {
		<-ctx.Done()
		ticker.Stop()
	}()
	return ticker.C
}

func healthSync(ctx context.Context, d time.Duration, sync func()) {
	go func() { // want "goroutine leaks: the function literal loops forever"
		for range tickerContext(ctx, d) {
			sync()
		}
	}()
}
