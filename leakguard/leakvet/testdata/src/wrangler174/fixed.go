// The fixed twin of corpus case wrangler174, modelled on rancher/wrangler#174:
// https://github.com/rancher/wrangler/pull/174
//
// for range ticker.Context() in a goroutine: the ticker channel is never
// closed, so the goroutine never exits after its context ends.
package wrangler174

import (
	"context"
	"time"
)

func healthSyncFixed(ctx context.Context, d time.Duration, sync func()) {
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sync()
			}
		}
	}()
}
