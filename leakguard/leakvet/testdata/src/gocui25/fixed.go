// The fixed twin of corpus case gocui25, modelled on jesseduffield/gocui#25:
// https://github.com/jesseduffield/gocui/pull/25
//
// g.stop <- struct{}{} can only interrupt one <-g.stop: with two loops
// selecting on stop, the other keeps running (on its ticker) forever. The
// fix closes stop instead.
package gocui25

import (
	"time"
)

func runLoopsFixed(tick time.Duration, draw, poll func()) func() {
	stop := make(chan struct{})
	for _, f := range []func(){draw, poll} {
		go func() {
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					f()
				}
			}
		}()
	}
	return func() { close(stop) }
}
