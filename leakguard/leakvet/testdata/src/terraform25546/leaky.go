// The leaky twin of corpus case terraform25546, modelled on hashicorp/terraform#25546:
// https://github.com/hashicorp/terraform/pull/25546
//
// TestRetry_error: if the test times out (t.Fatal ends the test goroutine)
// the goroutine blocks writing to errCh without a reader.
package terraform25546

import (
	"testing"
	"time"
)

func retryErrorHelper(t *testing.T, retry func() error) {
	errCh := make(chan error)
	go func() { // want "goroutine leaks: its send"
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
