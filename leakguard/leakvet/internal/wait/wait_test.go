package wait_test

import (
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/wait"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const src = `
import "sync"

func work() error { return nil }

func addLateLeaky() {
	var wg sync.WaitGroup
	go func() {
		wg.Add(1)
		defer wg.Done()
		work()
	}()
	wg.Wait()
}

func addLateFixed() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		work()
	}()
	wg.Wait()
}

func noDoneLeaky() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		if err := work(); err != nil {
			return
		}
		wg.Done()
	}()
	wg.Wait()
}

func noDoneFixed() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := work(); err != nil {
			return
		}
	}()
	wg.Wait()
}

func inLoopLeaky(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			work()
		}()
		wg.Wait()
	}
}

func inLoopFixed(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
}

func skippedLeaky(xs []int) {
	var wg sync.WaitGroup
	wg.Add(len(xs))
	for _, x := range xs {
		if x == 0 {
			continue
		}
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
}

func skippedFixed(xs []int) {
	var wg sync.WaitGroup
	wg.Add(len(xs))
	for _, x := range xs {
		if x == 0 {
			wg.Done()
			continue
		}
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
}

func pairsLeaky(xs []int) {
	var wg sync.WaitGroup
	wg.Add(2 * len(xs))
	for _, x := range xs {
		go func() { defer wg.Done(); work() }()
		if x == 0 {
			continue
		}
		go func() { defer wg.Done(); work() }()
	}
	wg.Wait()
}

func pairsFixed(xs []int) {
	var wg sync.WaitGroup
	wg.Add(2 * len(xs))
	for _, x := range xs {
		go func() { defer wg.Done(); work() }()
		if x == 0 {
			countOff(&wg)
			continue
		}
		go func() { defer wg.Done(); work() }()
	}
	wg.Wait()
}

func countOff(wg *sync.WaitGroup) { wg.Done() }

func pairsConstLeaky() {
	var wg sync.WaitGroup
	wg.Add(20)
	for i := 0; i < 10; i++ {
		go func() { defer wg.Done(); work() }()
	}
	wg.Wait()
}

func pairsConstFixed() {
	var wg sync.WaitGroup
	wg.Add(20)
	for i := 0; i < 10; i++ {
		go func() { defer wg.Done(); work() }()
		go func() { defer wg.Done(); work() }()
	}
	wg.Wait()
}

type server struct{ wg sync.WaitGroup }

func (s *server) startLeaky() {
	go func() {
		s.wg.Add(1)
		defer s.wg.Done()
		work()
	}()
}

func (s *server) startFixed() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		work()
	}()
}

func (s *server) close() { s.wg.Wait() }
`

// TestWaitGroupMisuse checks each shape leakwait reports on a leaky
// function and stays quiet on its fix: Add inside the goroutine (on a
// local and on a field waited for by another method), a path without
// Done, Wait inside the counted loop, an iteration that skips the go (or
// starts fewer goroutines than the Add counts an iteration: Add(2*len(xs)),
// Add(20) for ten iterations).
func TestWaitGroupMisuse(t *testing.T) {
	got := vettest.Src(t, wait.Analyzer, src).CategoriesByFunc()
	for _, tc := range []struct{ leaky, fixed, category string }{
		{"addLateLeaky", "addLateFixed", diag.WaitAddLate},
		{"noDoneLeaky", "noDoneFixed", diag.WaitNoDone},
		{"inLoopLeaky", "inLoopFixed", diag.WaitInLoop},
		{"skippedLeaky", "skippedFixed", diag.WaitAddSkipped},
		{"startLeaky", "startFixed", diag.WaitAddLate},
		{"pairsLeaky", "pairsFixed", diag.WaitAddSkipped},
		{"pairsConstLeaky", "pairsConstFixed", diag.WaitAddSkipped},
	} {
		if !slices.Equal(got[tc.leaky], []string{tc.category}) {
			t.Errorf("%s: reports %v, want [%s]", tc.leaky, got[tc.leaky], tc.category)
		}
		if len(got[tc.fixed]) != 0 {
			t.Errorf("%s: reports %v, want none", tc.fixed, got[tc.fixed])
		}
	}
}
