// The fixed twin of corpus case cadvisor2549, modelled on google/cadvisor#2549:
// https://github.com/google/cadvisor/pull/2549
//
// The runner signals completion on an unbuffered done channel; when the
// caller times out first nobody receives and the goroutine is stuck.
package cadvisor2549

import (
	"time"
)

func runWithTimeoutFixed(cmd func(), timeout time.Duration) bool {
	done := make(chan bool, 1)
	go func() {
		cmd()
		done <- true
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
