// Package main holds the shape of a false positive of the second round's
// batch 6 (syncthing cmd/strelaysrv/testutil/main.go): main returns, which
// ends the process, while a goroutine could still send.
package main

import (
	"bufio"
	"os"
)

func stdinReader(c chan<- string) {
	s := bufio.NewScanner(os.Stdin)
	for s.Scan() {
		c <- s.Text()
	}
}

func main() {
	stdin := make(chan string)
	go stdinReader(stdin)
	if len(os.Args) > 1 {
		println(<-stdin)
	}
}
