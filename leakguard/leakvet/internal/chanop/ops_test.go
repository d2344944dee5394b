package chanop_test

import (
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanflow"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// chain is a snippet whose function owner passes its channel down a chain
// of depth calls, the last of which sends on it.
func chain(depth int) string {
	var b strings.Builder
	b.WriteString("func owner() {\n\tch := make(chan int, 1)\n\tf1(ch)\n\t<-ch\n}\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "func f%d(ch chan int) { f%d(ch) }\n", i, i+1)
	}
	fmt.Fprintf(&b, "func f%d(ch chan int) { ch <- 1 }\n", depth)
	return b.String()
}

// TestMaxDepth checks MaxDepth is how deep the channel tracking follows a
// channel into calls: a send MaxDepth calls down is the owner's send, one
// call deeper and leakvet gives up on the channel.
func TestMaxDepth(t *testing.T) {
	for _, tc := range []struct {
		depth  int
		follow bool
	}{{chanop.MaxDepth, true}, {chanop.MaxDepth + 1, false}} {
		p := vettest.Src(t, chanflow.Analyzer, chain(tc.depth))
		fl := p.Result.Result.(*chanflow.Flows)
		if len(fl.List) != 1 {
			t.Fatalf("depth %d: %d flows, want 1", tc.depth, len(fl.List))
		}
		f := fl.List[0]
		if got := f.Escape == ""; got != tc.follow {
			t.Errorf("depth %d: followed %v (escape %q), want %v", tc.depth, got, f.Escape, tc.follow)
		}
		if tc.follow {
			var kinds []chanop.Kind
			for _, op := range f.OwnerThread().Ops {
				kinds = append(kinds, op.Kind)
				if op.Kind == chanop.Send && op.At == op.Instr {
					t.Errorf("depth %d: the send's At is the send itself, want the owner's call leading to it", tc.depth)
				}
			}
			if len(kinds) != 2 || !chanflow.Has(f.OwnerThread(), chanop.Send) || !chanflow.Has(f.OwnerThread(), chanop.Recv) {
				t.Errorf("depth %d: owner ops %v, want a send and a receive", tc.depth, kinds)
			}
		}
	}
}
