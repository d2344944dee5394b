// The fixed twin of corpus case gobyexample206, modelled on mmcgrana/gobyexample#206:
// https://github.com/mmcgrana/gobyexample/pull/206
//
// The tickers example leaks a goroutine: ticker.Stop() does not close
// ticker.C, so for range ticker.C never ends.
package gobyexample206

import (
	"fmt"
	"time"
)

func tickersFixed() {
	ticker := time.NewTicker(500 * time.Millisecond)
	done := make(chan bool)
	go func() {
		for {
			select {
			case <-done:
				return
			case t := <-ticker.C:
				fmt.Println("Tick at", t)
			}
		}
	}()
	time.Sleep(1600 * time.Millisecond)
	ticker.Stop()
	done <- true
}
