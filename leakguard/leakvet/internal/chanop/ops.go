// Package chanop is the vocabulary leakvet's channel tracking shares: the
// operations on a tracked channel (or channel field) and how deep into calls
// they are followed.
package chanop

import "golang.org/x/tools/go/ssa"

// Kind is what an operation does to a channel.
type Kind int

const (
	Send Kind = iota
	Recv
	Close
)

// Op is one operation on a tracked channel.
type Op struct {
	Kind     Kind
	Instr    ssa.Instruction // Send, UnOp, Select, or the close call
	SelCase  int             // the case, when instr is a select; else -1
	Guarded  bool            // a select with another way on: more cases or a default
	Deferred bool            // runs when its function returns
	At       ssa.Instruction // where it happens in its thread's root function: instr, or the call leading to it
}

// MaxDepth bounds how deep into the package's own calls a channel (or a
// channel field) is followed before leakvet gives up on it.
const MaxDepth = 4
