// Package fields follows channels kept in struct fields of the package's own
// types by type (all values of T.F are one channel), finds goroutines
// that block on such a field forever, and keeps the facts about goroutine
// lifetimes and functions that never return that the checks share.
package fields

import (
	"fmt"
	"go/token"
	"go/types"
	"os"
	"reflect"

	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/chanop"
	"github.com/trialwatch/trialwatch/leakguard/leakvet/internal/ssacfg"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// A channel kept in a struct field is followed by type, not by value: every
// make(chan) stored in field F of the package's struct type T, and every
// operation on x.F for any x of type T, are one abstract channel, T.F. What
// leakvet can say of it is what holds for all of them together: nobody in
// the package sends on or closes T.F, or nobody receives from it. That is
// only true when the package sees every use, so T.F is given up on (escape)
// when the field is exported, when something other than a make of this
// package (or nil, or T.F itself) is stored in it, when its address is
// taken, or when a channel read from it reaches code leakvet does not follow
// (another package's function, an interface, another field, a channel sent
// on a channel). An unexported field is out of other packages' reach, short
// of reflect and unsafe, wherever the struct itself goes.

// fieldKey names a channel field: a struct type of the package and the
// field's index.
type fieldKey struct {
	strct *types.Named
	index int
}

// fieldChan is everything leakvet knows about one channel field.
type fieldChan struct {
	key      fieldKey
	name     string // T.F
	makes    []*ssa.MakeChan
	capacity int64 // the largest constant capacity of its makes; -1: one is not a constant
	ops      []chanop.Op
	escape   string // why leakvet gave up on it; "" if it did not
	// recvEscape: others may receive from it (a method returns it as a
	// <-chan); they cannot send on or close it.
	recvEscape string
	// abandons are the receivers of the unbuffered field that can stop
	// before they have received.
	abandons []fieldAbandon
}

func (c *fieldChan) has(kinds ...chanop.Kind) bool {
	for _, op := range c.ops {
		for _, k := range kinds {
			if op.Kind == k {
				return true
			}
		}
	}
	return false
}

// neverFed reports whether a receive from c can only block: nobody in the
// package sends on or closes it, and nobody outside can.
func (c *fieldChan) neverFed() bool {
	return c != nil && c.escape == "" && len(c.makes) > 0 && !c.has(chanop.Send, chanop.Close)
}

// neverClosed reports whether nothing closes c: a receive from it never
// reports the channel closed, and a range over it never ends.
func (c *fieldChan) neverClosed() bool {
	return c != nil && c.escape == "" && len(c.makes) > 0 && !c.has(chanop.Close)
}

// neverDrained reports whether a send on c can only block once its buffer
// is full: nobody in the package or outside receives from it.
func (c *fieldChan) neverDrained() bool {
	return c != nil && c.escape == "" && c.recvEscape == "" && len(c.makes) > 0 && !c.has(chanop.Recv)
}

// Chans holds the package's channel fields and, for each value read
// from one (or flowing from such a read), the fields it may be.
type Chans struct {
	byKey  map[fieldKey]*fieldChan
	values map[ssa.Value][]*fieldChan
	// mixed values may also hold channels that are no field's: a
	// parameter, a phi, a variable, a captured variable.
	mixed map[ssa.Value]bool
	// funcs are the package's source functions.
	funcs []*ssa.Function
}

// of returns the one channel field v is read from, or nil when it is none
// or could be several.
func (fc *Chans) of(v ssa.Value) *fieldChan {
	if fc == nil {
		return nil
	}
	if cs := fc.values[v]; len(cs) == 1 && !fc.mixed[v] {
		return cs[0]
	}
	return nil
}

// deadRecv reports whether a receive from v can only block: every field v
// may be is never fed.
func (fc *Chans) deadRecv(v ssa.Value) bool {
	if fc == nil || fc.mixed[v] {
		return false
	}
	cs := fc.values[v]
	for _, c := range cs {
		if !c.neverFed() {
			return false
		}
	}
	return len(cs) > 0
}

// neverClosed reports whether every field v may be is never closed.
func (fc *Chans) neverClosed(v ssa.Value) bool {
	if fc == nil || fc.mixed[v] {
		return false
	}
	cs := fc.values[v]
	for _, c := range cs {
		if !c.neverClosed() {
			return false
		}
	}
	return len(cs) > 0
}

// recvOkAlways reports whether cond is the ok of a receive from fields
// nobody closes (v, ok := <-x.F, or a range over x.F): it is always true.
func (fc *Chans) recvOkAlways(cond ssa.Value) bool {
	ex, ok := cond.(*ssa.Extract)
	if !ok || ex.Index != 1 || fc == nil {
		return false
	}
	u, ok := ex.Tuple.(*ssa.UnOp)
	return ok && u.Op == token.ARROW && fc.neverClosed(u.X)
}

var Analyzer = &analysis.Analyzer{
	Name:       "leakvetfields",
	Doc:        "tracks channels kept in the package's struct fields, by type (a helper of leaksend, leakrecv and leakloop)",
	Requires:   []*analysis.Analyzer{buildssa.Analyzer},
	Run:        runFields,
	ResultType: reflect.TypeFor[*Chans](),
}

func runFields(pass *analysis.Pass) (any, error) {
	ssaInfo := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	fc := &Chans{byKey: map[fieldKey]*fieldChan{}, values: map[ssa.Value][]*fieldChan{}, mixed: map[ssa.Value]bool{}, funcs: ssaInfo.SrcFuncs}
	var reads []struct {
		c *fieldChan
		v ssa.Value
	}
	for _, fn := range ssaInfo.SrcFuncs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				var c *fieldChan
				switch in := instr.(type) {
				case *ssa.FieldAddr:
					if c = fc.field(pass.Pkg, in.X.Type(), in.Field); c == nil {
						continue
					}
					for _, r := range *in.Referrers() {
						switch r := r.(type) {
						case *ssa.DebugRef:
						case *ssa.UnOp:
							if r.Op == token.MUL {
								reads = append(reads, struct {
									c *fieldChan
									v ssa.Value
								}{c, r})
								continue
							}
							c.giveUp("its address is used by %s", r)
						case *ssa.Store:
							if r.Addr != in {
								c.giveUp("its address is stored")
								continue
							}
							fc.store(c, r.Val)
						default:
							c.giveUp("its address is used by %T", r)
						}
					}
				case *ssa.Field:
					if c = fc.field(pass.Pkg, in.X.Type(), in.Field); c != nil {
						reads = append(reads, struct {
							c *fieldChan
							v ssa.Value
						}{c, in})
					}
				}
			}
		}
	}
	for _, c := range fc.byKey {
		for _, mk := range c.makes {
			fw := &fieldWalker{pkg: ssaInfo.Pkg, fc: fc, c: c, seen: map[ssa.Value]bool{}}
			fw.value(mk, true, 0)
		}
	}
	for _, r := range reads {
		fw := &fieldWalker{pkg: ssaInfo.Pkg, fc: fc, c: r.c, seen: map[ssa.Value]bool{}}
		fw.value(r.v, true, 0)
	}
	for _, c := range fc.byKey {
		if c.escape == "" && c.recvEscape == "" && c.capacity == 0 && len(c.makes) > 0 {
			c.abandons = abandons(fc, c)
		}
	}
	if os.Getenv("LEAKVET_DEBUG") != "" {
		for _, c := range fc.byKey {
			fmt.Fprintf(os.Stderr, "leakvet: field %s makes %d cap %d ops %d escape %q recvEscape %q\n",
				c.name, len(c.makes), c.capacity, len(c.ops), c.escape, c.recvEscape)
		}
	}
	return fc, nil
}

// field returns the channel field index of the struct that x (a T or *T)
// has, when T is one of pkg's named struct types; nil otherwise.
func (fc *Chans) field(pkg *types.Package, x types.Type, index int) *fieldChan {
	if p, ok := x.Underlying().(*types.Pointer); ok {
		x = p.Elem()
	}
	n, ok := types.Unalias(x).(*types.Named)
	if !ok || n.Obj().Pkg() != pkg {
		return nil
	}
	st, ok := n.Underlying().(*types.Struct)
	if !ok || index >= st.NumFields() {
		return nil
	}
	f := st.Field(index)
	if _, ok := f.Type().Underlying().(*types.Chan); !ok {
		return nil
	}
	key := fieldKey{strct: n.Origin(), index: index}
	if c, ok := fc.byKey[key]; ok {
		return c
	}
	c := &fieldChan{key: key, name: n.Obj().Name() + "." + f.Name(), capacity: 0}
	switch {
	case f.Exported():
		c.escape = "exported field"
	case n.TypeParams().Len() > 0:
		c.escape = "field of a generic type"
	}
	fc.byKey[key] = c
	return c
}

func (c *fieldChan) giveUp(format string, args ...any) {
	if c.escape == "" {
		c.escape = fmt.Sprintf(format, args...)
	}
}

// store records a value stored in the field: a make of the package, nil,
// or a read of the same field; anything else is a channel from elsewhere.
func (fc *Chans) store(c *fieldChan, v ssa.Value) {
	switch v := v.(type) {
	case *ssa.MakeChan:
		c.makes = append(c.makes, v)
		if k, ok := ssacfg.IntConst(v.Size); ok && c.capacity >= 0 {
			c.capacity = max(c.capacity, k)
		} else {
			c.capacity = -1
		}
		return
	case *ssa.Const:
		if v.IsNil() {
			return
		}
	case *ssa.UnOp:
		if fa, ok := v.X.(*ssa.FieldAddr); ok && v.Op == token.MUL {
			if other := fc.field(fa.Parent().Pkg.Pkg, fa.X.Type(), fa.Field); other == c {
				return
			}
		}
	case *ssa.ChangeType:
		fc.store(c, v.X)
		return
	}
	c.giveUp("assigned a channel from elsewhere (%s)", v.Name())
}

// fieldWalker follows a channel read from (or made for) a field through
// the values that hold it, recording its operations.
type fieldWalker struct {
	pkg  *ssa.Package
	fc   *Chans
	c    *fieldChan
	seen map[ssa.Value]bool
}

func (w *fieldWalker) op(kind chanop.Kind, instr ssa.Instruction, selCase int, guarded, deferred bool) {
	w.c.ops = append(w.c.ops, chanop.Op{Kind: kind, Instr: instr, SelCase: selCase, Guarded: guarded, Deferred: deferred, At: instr})
}

func (w *fieldWalker) local(fn *ssa.Function) bool {
	return fn != nil && fn.Pkg == w.pkg && len(fn.Blocks) > 0
}

// value follows v; pure says v can only be the field's channel (a read of
// the field, a make stored in it), not another one.
func (w *fieldWalker) value(v ssa.Value, pure bool, depth int) {
	if w.c.escape != "" || w.seen[v] {
		return
	}
	w.seen[v] = true
	w.fc.values[v] = append(w.fc.values[v], w.c)
	if !pure {
		w.fc.mixed[v] = true
	}
	for _, r := range *v.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef, *ssa.BinOp:
		case *ssa.Send:
			if r.X == v {
				w.c.giveUp("sent on another channel")
				return
			}
			w.op(chanop.Send, r, -1, false, false)
		case *ssa.UnOp:
			if r.Op != token.ARROW {
				w.c.giveUp("used by %s", r)
				return
			}
			w.op(chanop.Recv, r, -1, false, false)
		case *ssa.Select:
			for i, st := range r.States {
				if st.Send == v {
					w.c.giveUp("sent on another channel")
					return
				}
				if st.Chan != v {
					continue
				}
				kind := chanop.Recv
				if st.Dir == types.SendOnly {
					kind = chanop.Send
				}
				w.op(kind, r, i, !r.Blocking || len(r.States) > 1, false)
			}
		case *ssa.ChangeType:
			w.value(r, pure, depth)
		case *ssa.Phi:
			w.value(r, false, depth)
		case *ssa.Return:
			if ch, ok := v.Type().Underlying().(*types.Chan); ok && ch.Dir() == types.RecvOnly {
				if w.c.recvEscape == "" {
					w.c.recvEscape = "returned by " + r.Parent().Name()
				}
				continue
			}
			w.c.giveUp("returned by %s", r.Parent().Name())
			return
		case *ssa.Store:
			if r.Val != v {
				w.c.giveUp("stored through")
				return
			}
			switch addr := r.Addr.(type) {
			case *ssa.Alloc:
				w.cell(addr, depth)
			case *ssa.FieldAddr:
				if w.fc.field(w.pkg.Pkg, addr.X.Type(), addr.Field) != w.c {
					w.c.giveUp("stored in another field")
					return
				}
			default:
				w.c.giveUp("stored in memory leakvet does not follow")
				return
			}
		case *ssa.MakeClosure:
			fn := r.Fn.(*ssa.Function)
			for i, b := range r.Bindings {
				if b == v && depth < chanop.MaxDepth {
					w.value(fn.FreeVars[i], false, depth+1)
				}
			}
			if depth >= chanop.MaxDepth {
				w.c.giveUp("closures nested too deep")
				return
			}
		case *ssa.Call:
			w.call(r, &r.Call, v, false, depth)
		case *ssa.Defer:
			w.call(r, &r.Call, v, true, depth)
		case *ssa.Go:
			w.call(r, &r.Call, v, false, depth)
		default:
			w.c.giveUp("used by %T", r)
			return
		}
	}
}

func (w *fieldWalker) call(instr ssa.Instruction, call *ssa.CallCommon, v ssa.Value, deferred bool, depth int) {
	switch ssacfg.BuiltinName(call) {
	case "close":
		w.op(chanop.Close, instr, -1, false, deferred)
		return
	case "len", "cap":
		return
	}
	callee := call.StaticCallee()
	if !w.local(callee) || call.IsInvoke() || depth >= chanop.MaxDepth {
		w.c.giveUp("passed to %s", call.Value.Name())
		return
	}
	for i, a := range call.Args {
		if a == v {
			w.value(callee.Params[i], false, depth+1)
		}
	}
}

// cell follows a variable (an alloc, or a closure's captured pointer) that
// holds the channel.
func (w *fieldWalker) cell(p ssa.Value, depth int) {
	if w.c.escape != "" || w.seen[p] {
		return
	}
	w.seen[p] = true
	for _, r := range *p.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.Store:
			// Other channels stored in it only add operations to this one.
		case *ssa.UnOp:
			if r.Op != token.MUL {
				w.c.giveUp("variable used by %s", r)
				return
			}
			w.value(r, false, depth)
		case *ssa.MakeClosure:
			fn := r.Fn.(*ssa.Function)
			for i, b := range r.Bindings {
				if b == p && depth < chanop.MaxDepth {
					w.cell(fn.FreeVars[i], depth+1)
				}
			}
			if depth >= chanop.MaxDepth {
				w.c.giveUp("closures nested too deep")
				return
			}
		default:
			w.c.giveUp("variable used by %T", r)
			return
		}
	}
}
