// The leaky twin of corpus case k8s38669, modelled on kubernetes/kubernetes#38669 (GoBench blocking bug kubernetes_38669):
// https://github.com/kubernetes/kubernetes/pull/38669
//
// If the WatchServer timeout fires, it stops consuming the result channel,
// and the cacheWatcher goroutine stays blocked writing the next event to
// it.
package k8s38669

import (
	"time"
)

type event struct{ key string }

func serveWatch(events []event, timeout time.Duration, write func(event)) {
	result := make(chan event)
	go func() { // want "goroutine leaks: its send"
		for _, e := range events {
			result <- e
		}
		close(result)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-result:
			if !ok {
				return
			}
			write(e)
		case <-timer.C:
			return
		}
	}
}
