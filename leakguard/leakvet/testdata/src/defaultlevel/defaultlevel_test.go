package defaultlevel

import "testing"

func TestFirst(t *testing.T) {
	inputs := []int{1, 2, 3}
	ch := make(chan int)
	for _, in := range inputs {
		go func() { ch <- in }() // reported with -leakvet.all
	}
	if v := <-ch; v == 0 {
		t.Error("zero")
	}
}

func TestValues(t *testing.T) {
	if v := <-Values([]int{1, 2, 3}); v != 1 {
		t.Error(v)
	}
}
