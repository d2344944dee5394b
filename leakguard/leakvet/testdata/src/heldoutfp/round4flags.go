package heldoutfp

import (
	"testing"
	"time"
)

// Batch 20's largest class (pion/sctp, pion/dtls): a receive loop that ends
// only once flags its own receives set are all set, so each sender it
// waits for has been received.

// readyPair: pion/sctp association_test.go, flags set to what is received.
func readyPair(process func(), handshake func() bool) {
	aReadyCh := make(chan bool)
	bReadyCh := make(chan bool)
	go func() { aReadyCh <- handshake() }()
	go func() { bReadyCh <- handshake() }()
	aReady, bReady := false, false
	for !aReady || !bReady {
		process()
		select {
		case aReady = <-aReadyCh:
		case bReady = <-bReadyCh:
		default:
		}
	}
}

// readyFlags: the same with flags set true after each receive.
func readyFlags(work func()) {
	a := make(chan struct{})
	b := make(chan struct{})
	go func() { work(); a <- struct{}{} }()
	go func() { work(); b <- struct{}{} }()
	var aDone, bDone bool
	for !(aDone && bDone) {
		select {
		case <-a:
			aDone = true
		case <-b:
			bDone = true
		}
	}
}

type dtlsConn struct{ id int }

type result struct {
	c   *dtlsConn
	err error
}

// bothConns: pion/dtls e2e/e2e_lossy_test.go, values compared with nil that
// a deferred closure reads; the loop's other ways out fail the test.
func bothConns(t *testing.T, dial func() (*dtlsConn, error)) {
	serverDone := make(chan result)
	clientDone := make(chan result)
	go func() { c, err := dial(); serverDone <- result{c, err} }()
	go func() { c, err := dial(); clientDone <- result{c, err} }()
	timer := time.NewTimer(time.Minute)
	var serverConn, clientConn *dtlsConn
	defer func() {
		if serverConn != nil && clientConn != nil {
			t.Log(serverConn.id, clientConn.id)
		}
	}()
	for serverConn == nil || clientConn == nil {
		select {
		case r := <-serverDone:
			if r.err != nil {
				t.Fatal(r.err)
			}
			serverConn = r.c
		case r := <-clientDone:
			if r.err != nil {
				t.Fatal(r.err)
			}
			clientConn = r.c
		case <-timer.C:
			t.Fatal("expired")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// readyPairLeaky is readyPair's leaky twin: the second flag is also set
// when nothing is ready, so the loop can end without receiving from
// bReadyCh, and the second goroutine blocks on its send for good.
func readyPairLeaky(process func(), handshake func() bool) {
	aReadyCh := make(chan bool)
	bReadyCh := make(chan bool)
	go func() { aReadyCh <- handshake() }()
	go func() { bReadyCh <- handshake() }() // want `goroutine leaks: its send at line 93`
	aReady, bReady := false, false
	for !aReady || !bReady {
		process()
		select {
		case aReady = <-aReadyCh:
		case bReady = <-bReadyCh:
		default:
			bReady = true
		}
	}
}
