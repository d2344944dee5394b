// Package gaps holds the modelling gaps found after batch 22, each with a
// leaky shape leakvet must report and fixed ones it must not.
package gaps

// Gap 1: a counted loop that polls (its select has a default case) can run
// out its bound before its receives have happened, so its exit by the bound
// does not drain the channels.

// closePair is pion/sctp's closeAssociationPair (association_test.go): it
// waits at most 100 rounds for the two Close goroutines, then returns; a
// Close slower than that leaves its goroutine blocked on its send.
func closePair(tick func(), closeA, closeB func()) {
	aDone := make(chan bool)
	bDone := make(chan bool)
	go func() { closeA(); aDone <- true }() // want `goroutine leaks: its send at line 15`
	go func() { closeB(); bDone <- true }() // want `goroutine leaks: its send at line 16`
	aClosed, bClosed := false, false
loop:
	for range 100 {
		tick()
		select {
		case aClosed = <-aDone:
			if bClosed {
				break loop
			}
		case bClosed = <-bDone:
			if aClosed {
				break loop
			}
		default:
		}
	}
}

// pollLeaky polls a counted loop of n rounds for one result.
func pollLeaky(n int, work func() int, idle func()) int {
	res := make(chan int)
	go func() { res <- work() }() // want `goroutine leaks: its send at line 38`
	for i := 0; i < n; i++ {
		select {
		case v := <-res:
			return v
		default:
			idle()
		}
	}
	return -1
}

// closePairBuffered is closePair fixed: a send into a buffer of one never
// blocks, whenever the owner stops polling.
func closePairBuffered(tick func(), closeA, closeB func()) {
	aDone := make(chan bool, 1)
	bDone := make(chan bool, 1)
	go func() { closeA(); aDone <- true }()
	go func() { closeB(); bDone <- true }()
	aClosed, bClosed := false, false
loop:
	for range 100 {
		tick()
		select {
		case aClosed = <-aDone:
			if bClosed {
				break loop
			}
		case bClosed = <-bDone:
			if aClosed {
				break loop
			}
		default:
		}
	}
}

// closePairBlocking waits without a default: every round receives, and
// two rounds take both values.
func closePairBlocking(closeA, closeB func()) {
	aDone := make(chan bool)
	bDone := make(chan bool)
	go func() { closeA(); aDone <- true }()
	go func() { closeB(); bDone <- true }()
	for range 2 {
		select {
		case <-aDone:
		case <-bDone:
		}
	}
}

// pollCounted polls, but its test counts receives (n steps only in the
// receiving cases): a round that takes the default leaves n alone, so the
// loop ends only once both values are taken.
func pollCounted(closeA, closeB, idle func()) {
	aDone := make(chan bool)
	bDone := make(chan bool)
	go func() { closeA(); aDone <- true }()
	go func() { closeB(); bDone <- true }()
	n := 0
	for n < 2 {
		select {
		case <-aDone:
			n++
		case <-bDone:
			n++
		default:
			idle()
		}
	}
}
