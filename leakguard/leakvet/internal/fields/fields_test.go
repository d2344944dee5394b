package fields_test

import (
	"slices"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/fields"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// leaks is an analyzer running fields.Leaks for kind, as leaksend and
// leakrecv do.
func leaks(kind chanop.Kind) *analysis.Analyzer {
	return &analysis.Analyzer{
		Name:     "fieldleaks",
		Doc:      "fields.Leaks alone",
		Requires: []*analysis.Analyzer{buildssa.Analyzer, fields.Analyzer},
		Run: func(pass *analysis.Pass) (any, error) {
			fields.Leaks(pass, kind)
			return nil, nil
		},
	}
}

// Each pair of types is one leaky shape and its fix; a field is followed
// by type, so each case has types of its own.
const fieldSrc = `
func work(int) {}

type noSenderLeaky struct{ ch chan int }

func newNoSenderLeaky() *noSenderLeaky { return &noSenderLeaky{ch: make(chan int)} }

func (s *noSenderLeaky) wait() { work(<-s.ch) }

func startNoSenderLeaky(s *noSenderLeaky) { go s.wait() }

type noSenderFixed struct{ ch chan int }

func newNoSenderFixed() *noSenderFixed { return &noSenderFixed{ch: make(chan int)} }

func (s *noSenderFixed) wait() { work(<-s.ch) }

func (s *noSenderFixed) stop() { close(s.ch) }

func startNoSenderFixed(s *noSenderFixed) { go s.wait() }

type noReceiverLeaky struct{ ch chan int }

func newNoReceiverLeaky() *noReceiverLeaky { return &noReceiverLeaky{ch: make(chan int)} }

func (s *noReceiverLeaky) put() { s.ch <- 1 }

func startNoReceiverLeaky(s *noReceiverLeaky) { go s.put() }

type noReceiverFixed struct{ ch chan int }

func newNoReceiverFixed() *noReceiverFixed { return &noReceiverFixed{ch: make(chan int)} }

func (s *noReceiverFixed) put() { s.ch <- 1 }

func (s *noReceiverFixed) take() int { return <-s.ch }

func startNoReceiverFixed(s *noReceiverFixed) { go s.put() }

type Exported struct{ Ch chan int }

func newExported() *Exported { return &Exported{Ch: make(chan int)} }

func (s *Exported) wait() { work(<-s.Ch) }

func startExported(s *Exported) { go s.wait() }

type unclosedLeaky struct{ ch chan int }

func newUnclosedLeaky() *unclosedLeaky { return &unclosedLeaky{ch: make(chan int)} }

func (s *unclosedLeaky) put(v int) { s.ch <- v }

func (s *unclosedLeaky) loop() {
	for v := range s.ch {
		work(v)
	}
}

func startUnclosedLeaky(s *unclosedLeaky) { go s.loop() }

type unclosedFixed struct{ ch chan int }

func newUnclosedFixed() *unclosedFixed { return &unclosedFixed{ch: make(chan int)} }

func (s *unclosedFixed) put(v int) { s.ch <- v }

func (s *unclosedFixed) stop() { close(s.ch) }

func (s *unclosedFixed) loop() {
	for v := range s.ch {
		work(v)
	}
}

func startUnclosedFixed(s *unclosedFixed) { go s.loop() }
`

// TestLeaks checks what fields.Leaks reports for receives and for sends on
// each leaky shape and its fix: a field nobody sends on or closes, one
// nobody receives from, a receive loop on a field nobody closes; and that
// it gives up on an exported field, which other packages may feed.
func TestLeaks(t *testing.T) {
	recv := vettest.Src(t, leaks(chanop.Recv), fieldSrc).CategoriesByFunc()
	send := vettest.Src(t, leaks(chanop.Send), fieldSrc).CategoriesByFunc()
	for _, tc := range []struct {
		got          map[string][]string
		leaky, fixed string
		category     string
	}{
		{recv, "startNoSenderLeaky", "startNoSenderFixed", diag.FieldNoSender},
		{send, "startNoReceiverLeaky", "startNoReceiverFixed", diag.FieldNoReceiver},
		{recv, "startUnclosedLeaky", "startUnclosedFixed", diag.FieldUnclosed},
	} {
		if !slices.Equal(tc.got[tc.leaky], []string{tc.category}) {
			t.Errorf("%s: reports %v, want [%s]", tc.leaky, tc.got[tc.leaky], tc.category)
		}
		if len(tc.got[tc.fixed]) != 0 {
			t.Errorf("%s: reports %v, want none", tc.fixed, tc.got[tc.fixed])
		}
	}
	if len(recv["startExported"]) != 0 {
		t.Errorf("startExported: reports %v on an exported field, want none", recv["startExported"])
	}
	for name, got := range map[string]map[string][]string{"receives": recv, "sends": send} {
		n := 0
		for _, cats := range got {
			n += len(cats)
		}
		if want := map[string]int{"receives": 2, "sends": 1}[name]; n != want {
			t.Errorf("%d reports on %s, want %d: %v", n, name, want, got)
		}
	}
}

const stopsFirstSrc = `
type queue struct {
	items chan int
	stop  chan struct{}
}

func newQueue() *queue { return &queue{items: make(chan int), stop: make(chan struct{})} }

func (q *queue) push(v int) { q.items <- v }

func (q *queue) close() { close(q.stop) }

func (q *queue) run() {
	for {
		select {
		case v := <-q.items:
			_ = v
		case <-q.stop:
			return
		}
	}
}

func pushLeaky(q *queue) { go q.push(1) }

type buffered struct {
	items chan int
	stop  chan struct{}
}

func newBuffered() *buffered { return &buffered{items: make(chan int), stop: make(chan struct{})} }

func (q *buffered) push(v int) {
	select {
	case q.items <- v:
	case <-q.stop:
	}
}

func (q *buffered) close() { close(q.stop) }

func (q *buffered) run() {
	for {
		select {
		case v := <-q.items:
			_ = v
		case <-q.stop:
			return
		}
	}
}

func pushFixed(q *buffered) { go q.push(1) }
`

// TestStopsFirst checks a send on an unbuffered field whose receiver can
// return on its stop case first is reported, and the send that selects on
// the stop signal too is not.
func TestStopsFirst(t *testing.T) {
	got := vettest.Src(t, leaks(chanop.Send), stopsFirstSrc).CategoriesByFunc()
	if !slices.Equal(got["pushLeaky"], []string{diag.FieldStopsFirst}) {
		t.Errorf("pushLeaky: reports %v, want [%s]", got["pushLeaky"], diag.FieldStopsFirst)
	}
	if len(got["pushFixed"]) != 0 {
		t.Errorf("pushFixed: reports %v, want none", got["pushFixed"])
	}
}

const lifetimeSrc = `
import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func tick() {
	for {
		time.Sleep(time.Second)
	}
}

func init() { go tick() }

func startedByInit() { go tick() }

func init() { startedByInit() }

var once sync.Once

func onceStart() {
	once.Do(func() { go tick() })
}

func Exported() { go tick() }

func helper() { go tick() }

func usesHelper() { helper() }

func TestMain(m *testing.M) { go tick() }

var started atomic.Bool

func casStart() {
	if !started.CompareAndSwap(false, true) {
		return
	}
	go tick()
}

func casLocal(local *atomic.Bool) {
	if !local.CompareAndSwap(false, true) {
		return
	}
	go tick()
}

func returns(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
	}
}

type worker struct{ stop chan struct{} }

func newWorker() *worker { return &worker{stop: make(chan struct{})} }

func (w *worker) run() {
	t := time.NewTicker(time.Second)
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}
`

// TestLifetimes checks which functions start goroutines meant to live as
// long as the process: init, TestMain, a sync.Once's function, an
// unexported function only init calls; not an exported function nor a
// helper called from ordinary code.
func TestLifetimes(t *testing.T) {
	p := vettest.SSA(t, lifetimeSrc)
	ssaInfo := p.SSAPkg()
	lt := fields.NewLifetimes(ssaInfo.Pkg, ssaInfo.SrcFuncs)
	for _, tc := range []struct {
		fn   string
		want bool
	}{
		{"init", true},
		{"TestMain", true},
		{"onceStart$1", true},
		{"startedByInit", true},
		{"Exported", false},
		{"helper", false},
		{"usesHelper", false},
		{"onceStart", false},
	} {
		var fn *ssa.Function
		for _, f := range ssaInfo.SrcFuncs {
			if f.Name() == tc.fn || (tc.fn == "init" && f.Name() == "init#1") {
				fn = f
			}
		}
		if fn == nil {
			t.Fatalf("no function %s", tc.fn)
		}
		if got := lt.Process(fn); got != tc.want {
			t.Errorf("Process(%s) = %v, want %v", tc.fn, got, tc.want)
		}
	}
	for _, tc := range []struct {
		fn   string
		want bool
	}{{"casStart", true}, {"casLocal", false}, {"helper", false}} {
		g := vettest.First[*ssa.Go](t, p.Func(tc.fn))
		if got := fields.StartedOnce(g); got != tc.want {
			t.Errorf("StartedOnce(the go in %s) = %v, want %v", tc.fn, got, tc.want)
		}
	}
}

// TestLoopFacts checks NeverReturns and TimerWait: tick sleeps forever,
// returns has a stop case; worker.run's stop case is a way out only while
// the fields are not known, as nobody closes worker.stop.
func TestLoopFacts(t *testing.T) {
	p := vettest.Src(t, fields.Analyzer, lifetimeSrc)
	pkg := p.SSAPkg().Pkg
	plain := fields.NewLoopFacts(pkg)
	withFields := fields.NewLoopFacts(pkg)
	withFields.Fields = p.Result.Result.(*fields.Chans)
	for _, tc := range []struct {
		fn                string
		plain, withFields bool
	}{
		{"tick", true, true},
		{"returns", false, false},
		{"worker.run", false, true},
	} {
		fn := p.Func(tc.fn)
		if got := plain.NeverReturns(fn); got != tc.plain {
			t.Errorf("NeverReturns(%s) = %v, want %v", tc.fn, got, tc.plain)
		}
		if got := withFields.NeverReturns(fn); got != tc.withFields {
			t.Errorf("with the fields, NeverReturns(%s) = %v, want %v", tc.fn, got, tc.withFields)
		}
		if !plain.TimerWait(fn).IsValid() {
			t.Errorf("TimerWait(%s): none, want its timer", tc.fn)
		}
	}
	if pos := plain.TimerWait(p.Func("usesHelper")); pos.IsValid() {
		t.Errorf("TimerWait(usesHelper) = %v, want none", p.Pass().Fset.Position(pos))
	}
}

// TestReaches checks Reaches follows the control flow after an
// instruction, not before it.
func TestReaches(t *testing.T) {
	p := vettest.SSA(t, `
func f(a, b chan int, cond bool) {
	<-a
	if cond {
		b <- 1
	}
}
`)
	fn := p.Func("f")
	send := vettest.First[*ssa.Send](t, fn)
	isSend := func(i ssa.Instruction) bool { return i == send }
	var recv ssa.Instruction
	for _, u := range vettest.Instrs[*ssa.UnOp](fn) {
		recv = u
	}
	if !fields.Reaches(recv, isSend) {
		t.Errorf("the receive does not reach the send after it")
	}
	if fields.Reaches(send, func(i ssa.Instruction) bool { return i == recv }) {
		t.Errorf("the send reaches the receive before it")
	}
}
