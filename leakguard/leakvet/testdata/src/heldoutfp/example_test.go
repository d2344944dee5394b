package heldoutfp

import "time"

// go-ethereum metrics/opentsdb_test.go: an example starts an exporter meant
// to run as long as the program.
func exportForever(flush func()) {
	for range time.Tick(time.Second) {
		flush()
	}
}

func ExampleExport() {
	go exportForever(func() {})
}
