// The fixed twin of corpus case gobyexample152, modelled on mmcgrana/gobyexample#152:
// https://github.com/mmcgrana/gobyexample/issues/152
//
// The rate-limiting example: go func() { for t := range time.Tick(...) {
// burstyLimiter <- t } }() hangs on the channel write when the caller stops
// reading from burstyLimiter (and loops on the tick forever).
package gobyexample152

import (
	"time"
)

func burstFixed(requests []int, serve func(int)) {
	burstyLimiter := make(chan time.Time, 3)
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case tick := <-t.C:
				select {
				case burstyLimiter <- tick:
				case <-done:
					return
				}
			}
		}
	}()
	for _, r := range requests {
		<-burstyLimiter
		serve(r)
	}
}
