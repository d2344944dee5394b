package defaultlevel

import "testing"

func TestFirst(t *testing.T) {
	inputs := []int{1, 2, 3}
	ch := make(chan int)
	for _, in := range inputs {
		go func() { ch <- in }() // want "goroutine leaks: its send"
	}
	if v := <-ch; v == 0 {
		t.Error("zero")
	}
}
