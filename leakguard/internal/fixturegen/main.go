// Command fixturegen produces the real goroutine dumps that the stackdump
// tests parse. Hand-written dumps drift from what the runtime prints, so the
// fixtures are captured from a live process with goroutines parked in every
// state the parser must understand.
//
// Usage (from the module root):
//
//	GOEXPERIMENT=goroutineleakprofile go run ./leakguard/internal/fixturegen -prefix go1.26
//	GODEBUG=tracebacklabels=1 GOEXPERIMENT=goroutineleakprofile go run ./leakguard/internal/fixturegen -prefix go1.26-labels
//	GODEBUG=tracebacklabels=1 GOTOOLCHAIN=go1.27.3 go run ./leakguard/internal/fixturegen -prefix go1.27
//	GOTRACEBACK=system GOEXPERIMENT=goroutineleakprofile go run ./leakguard/internal/fixturegen -hold 1s -crash 2> leakguard/stackdump/testdata/go1.26-crash.txt
//	GODEBUG=tracebacklabels=1 GOTRACEBACK=all GOTOOLCHAIN=go1.27.3 go run ./leakguard/internal/fixturegen -hold 1s -crash 2> leakguard/stackdump/testdata/go1.27-crash.txt
//
// Go 1.27 prints labels by default only for modules that declare go 1.27;
// this module declares 1.26, hence GODEBUG=tracebacklabels=1 for the 1.27
// capture.
//
// -hold keeps the goroutines parked past one minute so that headers carry a
// wait duration; -crash ends the process with a panic so that the dump on
// stderr has a panic preamble (run it with GOTRACEBACK=all or system).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

func main() {
	out := flag.String("out", "leakguard/stackdump/testdata", "directory to write the dumps to")
	prefix := flag.String("prefix", "go"+runtime.Version()[2:], "file name prefix, e.g. go1.26")
	hold := flag.Duration("hold", 65*time.Second, "how long goroutines stay parked before the dump (>1m yields wait durations)")
	crash := flag.Bool("crash", false, "panic instead of writing files, so the runtime prints the dump")
	flag.Parse()

	park := startAll()
	settle()
	// The runtime stamps a parked goroutine's wait start only when a GC
	// scans it, and with the start time of the previous GC cycle, which is
	// zero during the first cycle: two cycles are needed before -hold shows
	// up as "N minutes".
	runtime.GC()
	runtime.GC()
	time.Sleep(*hold)

	if *crash {
		// Nothing is released first: the dump must show the goroutines
		// still parked, not runnable after a deferred release.
		panic("fixturegen: deliberate crash to capture a traceback")
	}
	defer park.release()
	write(filepath.Join(*out, *prefix+"-stack.txt"), func(w io.Writer) error {
		_, err := w.Write(stackAll())
		return err
	})
	write(filepath.Join(*out, *prefix+"-goroutine.txt"), func(w io.Writer) error {
		return pprof.Lookup("goroutine").WriteTo(w, 2)
	})
	// The leak profile runs a leak-detecting GC first, so it goes last: the
	// earlier dumps show the goroutines before detection marked them.
	if p := pprof.Lookup("goroutineleak"); p != nil {
		write(filepath.Join(*out, *prefix+"-goroutineleak.txt"), func(w io.Writer) error {
			return p.WriteTo(w, 2)
		})
	} else {
		log.Printf("no goroutineleak profile in %s (build with GOEXPERIMENT=goroutineleakprofile)", runtime.Version())
	}
}

func write(path string, fn func(io.Writer) error) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := fn(f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", path)
}

func stackAll() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// settle gives the goroutines time to reach their blocking call; this is a
// capture tool, not a test, so a fixed pause is good enough.
func settle() { time.Sleep(200 * time.Millisecond) }

type parked struct {
	stop    chan struct{}
	mu      sync.Mutex
	closers []io.Closer
}

func (p *parked) release() {
	close(p.stop)
	for _, c := range p.closers {
		c.Close()
	}
}

func startAll() *parked {
	p := &parked{stop: make(chan struct{})}
	recv := make(chan int)
	send := make(chan int)
	for range 3 {
		go receiver(recv)
	}
	go sender(send) //leakvet:ignore parked on purpose until the process exits
	go selector(p.stop, recv)
	go sleeper()
	p.mu.Lock() // held forever so lockers park in sync.Mutex.Lock
	for range 2 {
		go locker(&p.mu)
	}
	go lockedToThread(p.stop)
	go labelled(p.stop)
	go deep(150, p.stop)
	go generic(recv)
	w := &waiter{}
	w.wg.Add(1)
	go w.wait()
	p.closers = append(p.closers, startIO()...)
	for range 4 {
		leak()
	}
	leakMutex()
	return p
}

// receiver stays inlinable: inlined frames print "(...)" and no PC offset.
func receiver(ch chan int) { <-ch }

//go:noinline
func sender(ch chan int) { ch <- 1 }

//go:noinline
func selector(stop chan struct{}, ch chan int) {
	select {
	case <-stop:
	case <-ch:
	}
}

func sleeper() { time.Sleep(time.Hour) }

//go:noinline
func locker(mu *sync.Mutex) {
	mu.Lock()
	defer mu.Unlock()
}

func lockedToThread(stop chan struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	<-stop
}

func labelled(stop chan struct{}) {
	labels := pprof.Labels("handler", "checkout", "tenant id", "acme \"corp\"")
	pprof.Do(context.Background(), labels, func(context.Context) {
		<-stop
	})
}

// deep recurses past the runtime's traceback frame limit (100) so the dump
// elides frames.
func deep(n int, stop chan struct{}) int {
	if n == 0 {
		<-stop
		return 0
	}
	return deep(n-1, stop) + 1
}

func generic(ch chan int) { receiveAny(ch) }

func receiveAny[T any](ch chan T) T { return <-ch }

type waiter struct{ wg sync.WaitGroup }

func (w *waiter) wait() { w.wg.Wait() }

// startIO parks one goroutine in Accept and one in Read on a TCP connection
// and one in Read on a pipe: all three are "IO wait" in the netpoller.
func startIO() []io.Closer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go accept(ln)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	go readConn(conn)
	pr, pw, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	go readPipe(pr)
	return []io.Closer{conn, ln, pw, pr}
}

func accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go readConn(c)
	}
}

//go:noinline
func readConn(c net.Conn) {
	buf := make([]byte, 1)
	_, _ = c.Read(buf)
}

func readPipe(f *os.File) {
	buf := make([]byte, 1)
	_, _ = f.Read(buf)
}

// leak starts a goroutine blocked on a channel that nothing else can reach:
// the textbook leak the goroutineleak profile detects.
func leak() {
	ch := make(chan string)
	//leakvet:ignore the fixture needs this textbook leak in its dumps
	go func() {
		fmt.Println(<-ch)
	}()
}

func leakMutex() {
	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock()
	}()
}
