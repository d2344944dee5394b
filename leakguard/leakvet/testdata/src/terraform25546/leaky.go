// The leaky twin of corpus case terraform25546, modelled on hashicorp/terraform#25546:
// https://github.com/hashicorp/terraform/pull/25546
//
// TestRetry_error: if the test times out (t.Fatal ends the test goroutine)
// the goroutine blocks writing to errCh without a reader.
//
// leakvet misses this leak: the leak happens only after t.Fatal, and leakvet deliberately does not count a path through t.Fatal (or runtime.Goexit) as the owner giving up: what a failed test leaves behind is noise next to its failure
package terraform25546

import (
	"testing"
	"time"
)

func retryErrorHelper(t *testing.T, retry func() error) {
	errCh := make(chan error)
	go func() {
		errCh <- retry()
	}()
	select {
	case err := <-errCh:
		if err == nil {
			t.Error("should error")
		}
	case <-time.After(time.Second):
		t.Fatal("timeout")
	}
}
