package pathsearch

import (
	"go/constant"
	"go/token"
	"go/types"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/ssa"
)

// eventFree knows values on a path that has passed none of q's events: a
// value whose sources (through phis and negations) are constants and values
// only an event yields (a receive q counts, a select case q counts on
// entering) is, there, one of those constants.
type eventFree struct{ q Query }

// known is what eventFree finds of a value: a constant, or nothing (every
// source needs an event), or, when neither, not known.
type known struct {
	val  constant.Value
	ok   bool
	none bool
}

// walk is one question's state: the phis being visited, and how many
// values it has visited, bounded (a web of phis that share inputs would
// otherwise be walked once per way through it).
type walk struct {
	busy   map[*ssa.Phi]bool
	visits int
}

const maxVisits = 256

func newWalk() *walk { return &walk{busy: map[*ssa.Phi]bool{}} }

func (k eventFree) value(v ssa.Value, w *walk) known {
	if w.visits++; w.visits > maxVisits {
		return known{} // not known
	}
	busy := w.busy
	switch v := v.(type) {
	case *ssa.Const:
		if v.Value == nil {
			return known{}
		}
		return known{val: v.Value, ok: true}
	case *ssa.Phi:
		if busy[v] {
			return known{none: true} // a cycle adds no source of its own
		}
		busy[v] = true
		defer delete(busy, v)
		var acc constant.Value
		for _, e := range v.Edges {
			r := k.value(e, w)
			switch {
			case r.none:
			case !r.ok:
				return known{}
			case acc == nil:
				acc = r.val
			case acc.Kind() != r.val.Kind() || !constant.Compare(acc, token.EQL, r.val):
				return known{}
			}
		}
		if acc == nil {
			return known{none: true}
		}
		return known{val: acc, ok: true}
	case *ssa.UnOp:
		if v.Op == token.NOT {
			r := k.value(v.X, w)
			if r.ok && r.val.Kind() == constant.Bool {
				r.val = constant.MakeBool(!constant.BoolVal(r.val))
			} else if r.ok {
				return known{}
			}
			return r
		}
		if v.Op == token.ARROW && k.q.Weight(v) > 0 {
			return known{none: true}
		}
	case *ssa.Extract:
		if k.fromEvent(v) {
			return known{none: true}
		}
	}
	return known{}
}

// fromEvent reports whether ex is what a counted receive yields.
func (k eventFree) fromEvent(ex *ssa.Extract) bool {
	switch t := ex.Tuple.(type) {
	case *ssa.UnOp: // v, ok := <-ch
		return t.Op == token.ARROW && k.q.Weight(t) > 0
	case *ssa.Select:
		if k.q.Weight(t) > 0 {
			return true
		}
		// The tuple is (index, ok, the received values in case order).
		recv := 2
		for c, st := range t.States {
			if st.Dir != types.RecvOnly {
				continue
			}
			if recv == ex.Index {
				e, ok := ssacfg.SelectCaseEdges(t)[c]
				return ok && k.q.Enter(e) > 0
			}
			recv++
		}
	}
	return false
}

// boolean returns v's value on an event-free path, if it is known.
func (k eventFree) boolean(v ssa.Value) (bool, bool) {
	r := k.value(v, newWalk())
	if !r.ok || r.val.Kind() != constant.Bool {
		return false, false
	}
	return constant.BoolVal(r.val), true
}

// assertionFails reports whether instr is a testify assertion (True, False,
// Equal, EqualValues, their f forms; a function or an Assertions method)
// that fails on an event-free path.
func (k eventFree) assertionFails(instr ssa.Instruction) bool {
	c, ok := instr.(ssa.CallInstruction)
	if !ok || !ssacfg.IsTestify(c.Common()) {
		return false
	}
	// The first argument is the test, or a method's receiver.
	args := c.Common().Args
	if len(args) < 2 {
		return false
	}
	switch strings.TrimSuffix(c.Common().StaticCallee().Name(), "f") {
	case "True":
		b, ok := k.boolean(args[1])
		return ok && !b
	case "False":
		b, ok := k.boolean(args[1])
		return ok && b
	case "Equal", "EqualValues":
		if len(args) < 3 {
			return false
		}
		x, y := unwrapInterface(args[1]), unwrapInterface(args[2])
		if !types.Identical(x.Type(), y.Type()) {
			return false
		}
		vx, vy := k.value(x, newWalk()), k.value(y, newWalk())
		return vx.ok && vy.ok && vx.val.Kind() == vy.val.Kind() && !constant.Compare(vx.val, token.EQL, vy.val)
	}
	return false
}

func unwrapInterface(v ssa.Value) ssa.Value {
	if mi, ok := v.(*ssa.MakeInterface); ok {
		return mi.X
	}
	return v
}
