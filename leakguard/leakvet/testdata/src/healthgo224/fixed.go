// The fixed twin of corpus case healthgo224, modelled on hellofresh/health-go#224:
// https://github.com/hellofresh/health-go/issues/224
//
// Each check runs in a goroutine that sends its result on an unbuffered
// resCh; when the check times out the loop moves on to the next check and
// the goroutine blocks on its send. The channel is made anew in every
// iteration.
package healthgo224

import (
	"context"
	"time"
)

type checkFixed struct {
	name    string
	timeout time.Duration
	fn      func(context.Context) error
}

func measureFixed(ctx context.Context, checks []checkFixed) []string {
	var failures []string
	for _, c := range checks {
		resCh := make(chan error, 1)
		go func() {
			resCh <- c.fn(ctx)
		}()
		timeout := time.NewTimer(c.timeout)
		select {
		case <-timeout.C:
			failures = append(failures, c.name+": timeout")
		case err := <-resCh:
			timeout.Stop()
			if err != nil {
				failures = append(failures, c.name+": "+err.Error())
			}
		}
	}
	return failures
}
