package vettest_test

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/tools/go/ssa"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/vettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSSA checks the helper finds a snippet's functions, methods and
// literals by the names its doc gives, with their instructions.
func TestSSA(t *testing.T) {
	p := vettest.SSA(t, `
type T struct{}

func (*T) m(ch chan int) { ch <- 1 }

func f() int {
	g := func() int { return 1 }
	return g()
}
`)
	if fn := p.Func("T.m"); len(vettest.Instrs[*ssa.Send](fn)) != 1 {
		t.Errorf("T.m: want one send, got\n%s", fn)
	}
	if lit := p.Func("f$1"); lit.Parent() != p.Func("f") {
		t.Errorf("f$1's parent is %v, want f", lit.Parent())
	}
	if got := vettest.Instrs[*ssa.Send](p.Func("f")); len(got) != 0 {
		t.Errorf("f: want no sends, got %v", got)
	}
}
