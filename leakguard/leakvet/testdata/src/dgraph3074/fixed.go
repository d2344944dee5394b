// The fixed twin of corpus case dgraph3074, modelled on dgraph-io/dgraph#3074:
// https://github.com/dgraph-io/dgraph/pull/3074
//
// Several goroutines send their error on a channel and the caller returns
// early on the first error, without waiting for the others, which stay
// blocked on the send.
package dgraph3074

func processAllFixed(items []string, process func(string) error) error {
	errCh := make(chan error, len(items))
	for _, it := range items {
		go func() {
			errCh <- process(it)
		}()
	}
	for range items {
		if err := <-errCh; err != nil {
			return err
		}
	}
	return nil
}
