// The fixed twin of corpus case gotcp8, modelled on gansidui/gotcp#8:
// https://github.com/gansidui/gotcp/issues/8
//
// waitGroup.Add(1) must not be inside the goroutine: Server.Start adds from
// the accept goroutine while Stop waits (the race detector flags it). The
// WaitGroup is a struct field waited for by another method.
package gotcp8

import (
	"sync"
)

type ServerFixed struct {
	waitGroup *sync.WaitGroup
	accept    func() bool
}

func (s *ServerFixed) Start() {
	s.waitGroup.Add(1)
	go func() {
		defer s.waitGroup.Done()
		for s.accept() {
		}
	}()
}

func (s *ServerFixed) Stop() {
	s.waitGroup.Wait()
}
