// The fixed twin of corpus case go68483, modelled on golang/go#68483:
// https://github.com/golang/go/issues/68483
//
// proposal: cmd/vet: report goroutine leak using time.Ticker. Proc starts a
// goroutine selecting only on the ticker; Stop on the returned ticker does
// not end it.
package go68483

import (
	"context"
	"fmt"
	"time"
)

func ProcFixed(ctx context.Context, d time.Duration) *time.Ticker {
	t := time.NewTicker(d)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Println("tick")
			}
		}
	}()
	return t
}
