// The fixed twin of corpus case cartesian6, modelled on schwarmco/go-cartesian-product#6:
// https://github.com/schwarmco/go-cartesian-product/issues/6
//
// Iter returns a channel an iterating goroutine sends every product on;
// docker_auth breaks out of the range on a match, and iterate blocks
// forever on its next send (thousands of leaked goroutines in production).
package cartesian6

func iterFixed(done <-chan struct{}, sets ...[]string) chan []string {
	c := make(chan []string)
	go func() {
		iterateFixed(done, c, sets)
		close(c)
	}()
	return c
}

func iterateFixed(done <-chan struct{}, c chan []string, sets [][]string) {
	if len(sets) != 2 {
		return
	}
	for _, a := range sets[0] {
		for _, b := range sets[1] {
			select {
			case c <- []string{a, b}:
			case <-done:
				return
			}
		}
	}
}

func matchesFixed(match func([]string) bool, sets ...[]string) bool {
	done := make(chan struct{})
	defer close(done)
	for product := range iterFixed(done, sets...) {
		if match(product) {
			return true
		}
	}
	return false
}
