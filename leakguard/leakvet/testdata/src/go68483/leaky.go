// The leaky twin of corpus case go68483, modelled on golang/go#68483:
// https://github.com/golang/go/issues/68483
//
// proposal: cmd/vet: report goroutine leak using time.Ticker. Proc starts a
// goroutine selecting only on the ticker; Stop on the returned ticker does
// not end it.
package go68483

import (
	"fmt"
	"time"
)

func Proc(d time.Duration) *time.Ticker {
	t := time.NewTicker(d)
	go func() { // want "goroutine leaks: the function literal loops forever"
		for {
			select {
			case <-t.C:
				fmt.Println("tick")
			}
		}
	}()
	return t
}
