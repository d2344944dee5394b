// The leaky twin of corpus case gocui25, modelled on jesseduffield/gocui#25:
// https://github.com/jesseduffield/gocui/pull/25
//
// g.stop <- struct{}{} can only interrupt one <-g.stop: with two loops
// selecting on stop, the other keeps running (on its ticker) forever. The
// fix closes stop instead.
//
// leakvet misses this leak: the stop channel escapes into the returned closure (a function value leakvet does not follow), and the loop does have a return path, so neither leakrecv nor leakloop can tell that one send stops only one of two receivers
package gocui25

import (
	"time"
)

func runLoops(tick time.Duration, draw, poll func()) func() {
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
	return func() { stop <- struct{}{} }
}
