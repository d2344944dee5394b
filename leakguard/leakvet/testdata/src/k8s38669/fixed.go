// The fixed twin of corpus case k8s38669, modelled on kubernetes/kubernetes#38669 (GoBench blocking bug kubernetes_38669):
// https://github.com/kubernetes/kubernetes/pull/38669
//
// If the WatchServer timeout fires, it stops consuming the result channel,
// and the cacheWatcher goroutine stays blocked writing the next event to
// it.
package k8s38669

import (
	"time"
)

type eventFixed struct{ key string }

func serveWatchFixed(events []eventFixed, timeout time.Duration, write func(eventFixed)) {
	result := make(chan eventFixed)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		defer close(result)
		for _, e := range events {
			select {
			case result <- e:
			case <-stopped:
				return
			}
		}
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
