// Package leaksend holds the leaks whose suggested fix is mechanical:
// buffer the channel to its number of senders.
package leaksend

import (
	"context"
	"time"
)

func single(f func() int) int {
	ch := make(chan int)
	go func() { ch <- f() }() // want "goroutine leaks"
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Second):
		return 0
	}
}

func fanOut(ctx context.Context, urls []string, get func(string) string) string {
	ch := make(chan string)
	for _, u := range urls {
		go func() { ch <- get(u) }() // want "goroutine leaks"
	}
	select {
	case s := <-ch:
		return s
	case <-ctx.Done():
		return ""
	}
}
