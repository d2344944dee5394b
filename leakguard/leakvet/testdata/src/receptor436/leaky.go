// The leaky twin of corpus case receptor436, modelled on ansible/receptor#436:
// https://github.com/ansible/receptor/issues/436
//
// doneChan is unbuffered: the select either reads it, or takes the other
// case and returns, after which nothing reads doneChan and the goroutine
// never returns.
package receptor436

func waitOrCancel(wait func(), cancel <-chan struct{}) bool {
	doneChan := make(chan bool)
	go func() { // want "goroutine leaks: its send"
		wait()
		doneChan <- true
	}()
	select {
	case <-doneChan:
		return true
	case <-cancel:
		return false
	}
}
