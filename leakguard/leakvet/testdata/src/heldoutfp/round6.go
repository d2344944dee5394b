package heldoutfp

// Round 6's reruns: leakvet crashed on go-ethereum (before round 6 as after
// it) by recursing without end through a captured variable stored with what
// was loaded from it; this only has to be analysed without a crash.

// restore keeps a captured channel variable and puts back what it read.
func restore(work func() int) int {
	res := make(chan int, 1)
	var c chan int
	renew := func() { c = make(chan int, 1) }
	prev := c
	renew()
	c = prev
	go func() { res <- work() }()
	if c == nil {
		return <-res
	}
	return <-res + <-c
}
