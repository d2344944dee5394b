package loop_test

import (
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/diag"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/loop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const src = `
import (
	"context"
	"time"
)

func work() {}

func tickerLeaky(ctx context.Context) {
	go func() {
		t := time.NewTicker(time.Second)
		for {
			select {
			case <-t.C:
				if ctx.Err() == nil {
					work()
				}
			}
		}
	}()
}

func tickerFixed(ctx context.Context) {
	go func() {
		t := time.NewTicker(time.Second)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				work()
			}
		}
	}()
}

type poller struct{ stop chan struct{} }

func (p *poller) sleepLoop() {
	for {
		time.Sleep(time.Second)
		work()
	}
}

func (p *poller) stoppableLoop() {
	for {
		select {
		case <-p.stop:
			return
		case <-time.After(time.Second):
			work()
		}
	}
}

func (p *poller) Close() { close(p.stop) }

func methodLeaky(p *poller) { go p.sleepLoop() }

func methodFixed(p *poller) { go p.stoppableLoop() }

func tickForever() {
	for range time.Tick(time.Second) {
		work()
	}
}

func init() { go tickForever() }
`

// TestEndlessTimerLoops checks leakloop reports a goroutine looping on a
// timer with no way out, and not its fix with a ctx.Done() or stop-field
// case that returns, nor a loop started once per process (in init).
func TestEndlessTimerLoops(t *testing.T) {
	p := vettest.Src(t, loop.Analyzer, src)
	got := p.CategoriesByFunc()
	for _, tc := range []struct{ leaky, fixed string }{
		{"tickerLeaky", "tickerFixed"},
		{"methodLeaky", "methodFixed"},
	} {
		if !slices.Equal(got[tc.leaky], []string{diag.Loop}) {
			t.Errorf("%s: reports %v, want [%s]", tc.leaky, got[tc.leaky], diag.Loop)
		}
		if len(got[tc.fixed]) != 0 {
			t.Errorf("%s: reports %v, want none", tc.fixed, got[tc.fixed])
		}
	}
	if len(got["init"]) != 0 {
		t.Errorf("init: reports %v for a loop started once per process, want none", got["init"])
	}
	if len(p.Result.Diagnostics) != 2 {
		t.Errorf("%d reports, want 2: %v", len(p.Result.Diagnostics), p.Diagnostics())
	}
}

// TestCtxDoneFix checks the report on a goroutine with a context in scope
// suggests the ctx.Done() case that returns, and the one without offers no fix.
func TestCtxDoneFix(t *testing.T) {
	p := vettest.Src(t, loop.Analyzer, src)
	for _, d := range p.Result.Diagnostics {
		if !strings.Contains(d.Message, "the function literal") {
			if len(d.SuggestedFixes) != 0 {
				t.Errorf("the report on sleepLoop (no context in scope) suggests %v", d.SuggestedFixes)
			}
			continue
		}
		if len(d.SuggestedFixes) != 1 || len(d.SuggestedFixes[0].TextEdits) != 1 {
			t.Fatalf("the report on tickerLeaky suggests %v, want one fix of one edit", d.SuggestedFixes)
		}
		text := string(d.SuggestedFixes[0].TextEdits[0].NewText)
		if !strings.HasPrefix(text, "case <-ctx.Done():\n") || !strings.Contains(text, "return") {
			t.Errorf("fix inserts %q, want a ctx.Done() case that returns", text)
		}
	}
}
