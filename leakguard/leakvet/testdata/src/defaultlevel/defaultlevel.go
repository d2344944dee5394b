// Package defaultlevel holds a shape reported only with -leakvet.all: senders
// started in a loop against an owner that takes one value, in a test file
// (defaultlevel_test.go); the same in library code is reported by default.
package defaultlevel

// First starts one goroutine per input and takes the first answer: the
// others block forever on their sends.
func First(inputs []int) int {
	ch := make(chan int)
	for _, in := range inputs {
		go func() { ch <- in * 2 }() // reported by default
	}
	return <-ch
}

// Values sends each of vs on the channel it returns; its test takes one
// (defaultlevel_test.go): reported only with -leakvet.all, as the owner's
// receives are in a test (the shape of docker/compose pkg/watch/debounce.go).
func Values(vs []int) <-chan int {
	out := make(chan int)
	go func() { // reported with -leakvet.all
		for _, v := range vs {
			out <- v
		}
	}()
	return out
}
