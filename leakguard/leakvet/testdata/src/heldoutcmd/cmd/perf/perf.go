// Package perf holds the shape of the debatable reports of the second
// round's batch 8 (rabbitmq-stream-go-client perfTest/cmd): a command's code
// outside package main, whose stats loops run as long as the process.
package perf

import (
	"fmt"
	"time"
)

func PrintStats(count func() int) {
	ticker := time.NewTicker(time.Second)
	go func() {
		for range ticker.C {
			fmt.Println(count())
		}
	}()
}
