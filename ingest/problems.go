package ingest

import (
	"fmt"

	"github.com/trialwatch/trialwatch/sdtm"
)

// Problems is what is wrong with a file IngestFiles refused: the problems
// listed, grouped where they repeat (see problems), and how many rows
// they are on in all.
type Problems struct {
	sdtm.Errors
	Rows    int  // rows with a problem: all of them unless Partial
	Partial bool // the reading stopped at the limit: more rows may have one
}

func (p *Problems) Error() string { return p.Errors.Error() }

// Unwrap gives errors.As the listed sdtm.Errors.
func (p *Problems) Unwrap() error { return p.Errors }

// Summary says how many rows have problems, for a one-line answer.
func (p *Problems) Summary() string {
	if p.Partial {
		return fmt.Sprintf("problems on %s or more (reading stopped at the limit)", rowCount(p.Rows))
	}
	return "problems on " + rowCount(p.Rows)
}

// problems gathers the problems found in one file, grouping those that
// repeat: the same message about the same column on many rows (every
// record of one unknown subject, say) is one problem, with how many rows
// it is on and where the first and last are. Groups past the limit are
// still counted, so the totals are true however many there are.
type problems struct {
	file   string
	limit  int // groups listed at most
	groups []*problemGroup
	byKey  map[problemKey]*problemGroup
	rows   int // every row added, listed or not

	moreGroups map[problemKey]bool // distinct problems past the limit
	moreRows   int                 // their rows
}

type problemKey struct{ column, msg string }

// problemGroup is one problem and the rows it is on.
type problemGroup struct {
	first      *sdtm.Error
	rows       int
	last       int  // line (or row) of the last
	contiguous bool // the rows follow one another
}

func newProblems(file string, limit int) *problems {
	return &problems{file: file, limit: limit, byKey: map[problemKey]*problemGroup{}, moreGroups: map[problemKey]bool{}}
}

// add counts e, a problem located by line or row.
func (p *problems) add(e *sdtm.Error) {
	p.rows++
	k := problemKey{e.Column, e.Msg}
	pos := e.Line + e.Row
	if g := p.byKey[k]; g != nil {
		g.rows++
		g.contiguous = g.contiguous && pos == g.last+1
		g.last = pos
		return
	}
	if len(p.groups) >= p.limit {
		p.moreGroups[k] = true
		p.moreRows++
		return
	}
	g := &problemGroup{first: e, rows: 1, last: pos, contiguous: true}
	p.groups = append(p.groups, g)
	p.byKey[k] = g
}

// any says whether a problem was added.
func (p *problems) any() bool { return p.rows > 0 }

// errors lists the groups in the order first found, each as one problem
// located at its first row and saying how many rows it is on; then how
// many more were not listed, and, with what, the total.
func (p *problems) errors(what string) sdtm.Errors {
	out := make(sdtm.Errors, 0, len(p.groups)+2)
	for _, g := range p.groups {
		e := *g.first
		if g.rows > 1 {
			e.Msg += ": " + g.span(e.Line > 0)
		}
		out = append(out, &e)
	}
	if p.moreRows > 0 {
		out = append(out, &sdtm.Error{File: p.file, Msg: fmt.Sprintf("and %d more problems, on %s, not listed", len(p.moreGroups), rowCount(p.moreRows))})
	}
	if what != "" && (len(p.groups) > 1 || p.moreRows > 0) {
		out = append(out, &sdtm.Error{File: p.file, Msg: fmt.Sprintf("in all %s %s", rowCount(p.rows), what)})
	}
	return out
}

// span says how many rows a group is on and where.
func (g *problemGroup) span(lines bool) string {
	unit := "rows"
	if lines {
		unit = "lines"
	}
	first := g.first.Line + g.first.Row
	if g.contiguous {
		return fmt.Sprintf("%s, %s %d–%d", rowCount(g.rows), unit, first, g.last)
	}
	return fmt.Sprintf("%s, %s %d to %d", rowCount(g.rows), unit, first, g.last)
}

func rowCount(n int) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

// groupErrors groups repeated problems of a list (see problems), keeping
// the marks of a limit (problems not located on a row) as they are, and
// counts the rows they are on.
func groupErrors(file string, errs sdtm.Errors) (grouped sdtm.Errors, rows int) {
	p := newProblems(file, len(errs))
	var marks sdtm.Errors
	on := map[int]bool{}
	for _, e := range errs {
		if e.Line+e.Row == 0 {
			marks = append(marks, e)
			continue
		}
		on[e.Line+e.Row] = true
		p.add(e)
	}
	return append(p.errors(""), marks...), len(on)
}
