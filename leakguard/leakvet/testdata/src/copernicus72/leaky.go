// The leaky twin of corpus case copernicus72, modelled on copernet/copernicus#72:
// https://github.com/copernet/copernicus/pull/72
//
// Peer.start negotiates in a goroutine that sends the error on the
// unbuffered negotiateErr; when negotiation takes longer than
// negotiateTimeout the caller returns and the goroutine leaks.
package copernicus72

import (
	"errors"
	"time"
)

const negotiateTimeout = 30 * time.Second

type Peer struct {
	inbound           bool
	negotiateInbound  func() error
	negotiateOutbound func() error
}

func (p *Peer) start() error {
	negotiateErr := make(chan error)
	go func() { // want "goroutine leaks: its send"
		if p.inbound {
			negotiateErr <- p.negotiateInbound()
		} else {
			negotiateErr <- p.negotiateOutbound()
		}
	}()
	select {
	case err := <-negotiateErr:
		if err != nil {
			return err
		}
	case <-time.After(negotiateTimeout):
		return errors.New("protocol negotiation timeout")
	}
	return nil
}
