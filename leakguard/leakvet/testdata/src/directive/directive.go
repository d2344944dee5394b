// Package directive checks the leakvet:ignore directive: a report on its
// line or the line below is dropped, and only those.
package directive

func meantToLeak() {
	ch := make(chan int)
	//leakvet:ignore the goroutine dump fixture needs a goroutine parked forever
	go func() { <-ch }()
}

func leaks() {
	ch := make(chan int)
	go func() { <-ch }() // want "goroutine leaks: its receive"
}
