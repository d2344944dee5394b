// The leaky twin of corpus case influxdb1558, modelled on influxdata/influxdb#1558:
// https://github.com/influxdata/influxdb/pull/1558
//
// Server.Open starts background loops that stop when s.done is closed, but
// Server.Close never closed it: every Open/Close cycle left the loops
// running. The fix closes s.done in Close (and sets it to nil).
package influxdb1558

import (
	"errors"
	"sync"
	"time"
)

var ErrServerClosed = errors.New("server already closed")

type Server struct {
	mu      sync.Mutex
	open    bool
	done    chan struct{}
	enforce func()
}

func (s *Server) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = make(chan struct{})
	s.open = true
	go s.enforceRetentionPolicies(time.Minute) // want "goroutine leaks: enforceRetentionPolicies loops forever waiting on the timer"
	return nil
}

func (s *Server) enforceRetentionPolicies(interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ticker.C:
			s.enforce()
		}
	}
}

func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open {
		return ErrServerClosed
	}
	s.open = false
	return nil
}
