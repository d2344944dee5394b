package heldoutfp

import "sync"

// Round 3 (batch 14): the shapes of its false positives.

// chunksDone: Add(len(chunks)) before the loop, and an iteration that skips
// the go statement calls Done itself (go-datastructures rtree/hilbert).
func chunksDone(chunks [][]int) []int {
	sums := make([]int, len(chunks))
	var wg sync.WaitGroup
	wg.Add(len(chunks))
	for i := range chunks {
		if len(chunks[i]) == 0 {
			wg.Done()
			continue
		}
		go func(i int) {
			for _, v := range chunks[i] {
				sums[i] += v
			}
			wg.Done()
		}(i)
	}
	wg.Wait()
	return sums
}
