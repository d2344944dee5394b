// Package defaultlevel holds a shape reported only with -leakvet.all: senders
// started in a loop against an owner that takes one value, in a test file
// (defaultlevel_test.go); the same in library code is reported by default.
package defaultlevel

// First starts one goroutine per input and takes the first answer: the
// others block forever on their sends.
func First(inputs []int) int {
	ch := make(chan int)
	for _, in := range inputs {
		go func() { ch <- in * 2 }() // want "goroutine leaks: its send"
	}
	return <-ch
}
