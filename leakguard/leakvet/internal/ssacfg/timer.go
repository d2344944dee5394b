package ssacfg

import (
	"go/token"

	"golang.org/x/tools/go/ssa"
)

// IsTimerChan reports whether v is the channel of a time.Ticker or
// time.Timer (its C), or of time.Tick or time.After: channels nobody
// closes. A channel of time.Time from elsewhere (a fake ticker) may be.
func IsTimerChan(v ssa.Value) bool { return timerChan(v, 0) }

func timerChan(v ssa.Value, depth int) bool {
	if depth > 4 {
		return false
	}
	switch v := v.(type) {
	case *ssa.ChangeType:
		return timerChan(v.X, depth+1)
	case *ssa.Call:
		if IsFunc(&v.Call, "time", "Tick", "After") {
			return true
		}
		// A function of the package that returns one.
		fn := v.Call.StaticCallee()
		if fn == nil || len(fn.Blocks) == 0 || fn.Signature.Results().Len() != 1 {
			return false
		}
		returns := 0
		for _, b := range fn.Blocks {
			if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok {
				if !timerChan(ret.Results[0], depth+1) {
					return false
				}
				returns++
			}
		}
		return returns > 0
	case *ssa.Field:
		return IsNamed(v.X.Type(), "time", "Ticker") || IsNamed(v.X.Type(), "time", "Timer")
	case *ssa.UnOp:
		if v.Op != token.MUL {
			return false
		}
		if fa, ok := v.X.(*ssa.FieldAddr); ok {
			return IsNamed(fa.X.Type(), "time", "Ticker") || IsNamed(fa.X.Type(), "time", "Timer")
		}
		return storedTimerChan(v.X, depth)
	case *ssa.Phi:
		for _, e := range v.Edges {
			if !timerChan(e, depth+1) {
				return false
			}
		}
		return len(v.Edges) > 0
	}
	return false
}

// storedTimerChan follows a variable (local, or captured by a closure) to
// what is stored in it.
func storedTimerChan(p ssa.Value, depth int) bool {
	if fv, ok := p.(*ssa.FreeVar); ok {
		fn := fv.Parent()
		idx := -1
		for i, x := range fn.FreeVars {
			if x == fv {
				idx = i
			}
		}
		if fn.Parent() == nil || idx < 0 {
			return false
		}
		for _, b := range fn.Parent().Blocks {
			for _, instr := range b.Instrs {
				if mc, ok := instr.(*ssa.MakeClosure); ok && mc.Fn == fn {
					return storedTimerChan(mc.Bindings[idx], depth+1)
				}
			}
		}
		return false
	}
	alloc, ok := p.(*ssa.Alloc)
	if !ok {
		return false
	}
	stores := 0
	for _, r := range *alloc.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == alloc {
			if !timerChan(st.Val, depth+1) {
				return false
			}
			stores++
		}
	}
	return stores > 0
}

func RecvOkFromTimer(cond ssa.Value) bool {
	ex, ok := cond.(*ssa.Extract)
	if !ok || ex.Index != 1 {
		return false
	}
	u, ok := ex.Tuple.(*ssa.UnOp)
	return ok && u.Op == token.ARROW && IsTimerChan(u.X)
}
