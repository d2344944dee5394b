// The leaky twin of corpus case gobyexample152, modelled on mmcgrana/gobyexample#152:
// https://github.com/mmcgrana/gobyexample/issues/152
//
// The rate-limiting example: go func() { for t := range time.Tick(...) {
// burstyLimiter <- t } }() hangs on the channel write when the caller stops
// reading from burstyLimiter (and loops on the tick forever).
package gobyexample152

import (
	"time"
)

func burst(requests []int, serve func(int)) {
	burstyLimiter := make(chan time.Time, 3)
	go func() { // want "goroutine leaks: its send" "goroutine leaks: the function literal loops forever"
		for t := range time.Tick(200 * time.Millisecond) {
			burstyLimiter <- t
		}
	}()
	for _, r := range requests {
		<-burstyLimiter
		serve(r)
	}
}
