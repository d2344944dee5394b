// The leaky twin of corpus case k8s5316, modelled on kubernetes/kubernetes#5316 (GoBench blocking bug kubernetes_5316):
// https://github.com/kubernetes/kubernetes/pull/5316
//
// finishRequest runs the handler in a goroutine that reports on an
// unbuffered result or error channel; on timeout the caller returns and the
// goroutine blocks on its send.
package k8s5316

import (
	"errors"
	"time"
)

func finishRequest(timeout time.Duration, fn func() (string, error)) (string, error) {
	ch := make(chan string)
	errCh := make(chan error)
	go func() { // want "goroutine leaks: its send" "goroutine leaks: its send"
		if result, err := fn(); err != nil {
			errCh <- err
		} else {
			ch <- result
		}
	}()
	select {
	case result := <-ch:
		return result, nil
	case err := <-errCh:
		return "", err
	case <-time.After(timeout):
		return "", errors.New("timeout")
	}
}
