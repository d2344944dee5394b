package chanflow

import (
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/pathsearch"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/ssa"
)

// maxBoundSends is the most sends a channel can have and still bound the
// paths of its owner's other channels' questions.
const maxBoundSends = 3

// boundOthers gives each flow the bounds of the other channels its owner
// made: a path asked about one channel takes no more values from another
// than are sent on it.
func boundOthers(fl *Flows) {
	type bounded struct {
		f *Flow
		b pathsearch.Bound
	}
	byOwner := map[*ssa.Function][]bounded{}
	for _, g := range fl.List {
		if b, ok := sendBound(fl.Lc, g); ok {
			byOwner[g.Owner] = append(byOwner[g.Owner], bounded{g, b})
		}
	}
	for _, f := range fl.List {
		for _, o := range byOwner[f.Owner] {
			if o.f.Mk != f.Mk {
				f.others = append(f.others, o.b)
			}
		}
	}
}

// sendBound returns the bound of g, when its sends are known and few: the
// owner made it, outside loops, and tracked every use; nothing closes it;
// every send is written in its thread's own function (not a callee's,
// which may run more than once), outside loops; and every goroutine
// sending on it is started once, by the owner itself. Its receives are the
// owner's own, outside calls and defers: leaving out a receive only lets a
// path through.
func sendBound(lc ssacfg.LoopCache, g *Flow) (pathsearch.Bound, bool) {
	if g.Escape != "" || g.returned || g.remake != g.Mk || g.Mk.Parent() != g.Owner || lc.InCycle(g.Mk) {
		return pathsearch.Bound{}, false
	}
	sends, recvs := 0, false
	for i, t := range g.Threads {
		started := i == 0 || (t.Spawn.Parent() == g.Owner && !t.Nested && !t.InLoop)
		for _, op := range t.Ops {
			switch op.Kind {
			case chanop.Close:
				return pathsearch.Bound{}, false
			case chanop.Send:
				if !started || op.At != op.Instr || op.Instr.Parent() != t.Root || lc.InCycle(op.Instr) {
					return pathsearch.Bound{}, false
				}
				sends++
			case chanop.Recv:
				recvs = recvs || i == 0
			}
		}
	}
	if sends > maxBoundSends || !recvs {
		return pathsearch.Bound{}, false
	}
	b := pathsearch.Bound{Sends: sends, Recvs: pathsearch.Events{At: map[ssa.Instruction]int{}, Enter: map[ssacfg.Edge]int{}}}
	for _, op := range g.OwnerThread().Ops {
		if op.Kind != chanop.Recv || op.Deferred || op.At != op.Instr || op.Instr.Parent() != g.Owner {
			continue
		}
		if sel, ok := op.Instr.(*ssa.Select); ok {
			if e, ok := ssacfg.SelectCaseEdges(sel)[op.SelCase]; ok {
				b.Recvs.Enter[e]++
			}
			continue // a case with no edge of its own: not counted
		}
		b.Recvs.At[op.Instr]++
	}
	return b, true
}
