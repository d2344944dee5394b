package heldoutfp

import (
	"errors"
	"testing"
)

// streamPair is a test helper: on its error path the accepting goroutine
// is left blocked, but every caller fails the test with the error
// (xtaci/smux getSmuxStreamPair).
func streamPair(accept, open func() error) error {
	done := make(chan error)
	go func() {
		done <- accept()
	}()
	if err := open(); err != nil {
		return err
	}
	return <-done
}

func TestStreamPair(t *testing.T) {
	if err := streamPair(func() error { return nil }, func() error { return errors.New("no") }); err != nil {
		t.Fatal(err)
	}
}
