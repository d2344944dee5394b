// The leaky twin of corpus case cartesian6, modelled on schwarmco/go-cartesian-product#6:
// https://github.com/schwarmco/go-cartesian-product/issues/6
//
// Iter returns a channel an iterating goroutine sends every product on;
// docker_auth breaks out of the range on a match, and iterate blocks
// forever on its next send (thousands of leaked goroutines in production).
package cartesian6

func iter(sets ...[]string) chan []string {
	c := make(chan []string)
	go func() { // want "goroutine leaks: its send"
		iterate(c, sets)
		close(c)
	}()
	return c
}

func iterate(c chan []string, sets [][]string) {
	if len(sets) != 2 {
		return
	}
	for _, a := range sets[0] {
		for _, b := range sets[1] {
			c <- []string{a, b}
		}
	}
}

func matches(match func([]string) bool, sets ...[]string) bool {
	for product := range iter(sets...) {
		if match(product) {
			return true
		}
	}
	return false
}
