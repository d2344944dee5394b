// The fixed twin of corpus case receptor436, modelled on ansible/receptor#436:
// https://github.com/ansible/receptor/issues/436
//
// doneChan is unbuffered: the select either reads it, or takes the other
// case and returns, after which nothing reads doneChan and the goroutine
// never returns.
package receptor436

func waitOrCancelFixed(wait func(), cancel <-chan struct{}) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		wait()
	}()
	select {
	case <-done:
		return true
	case <-cancel:
		return false
	}
}
