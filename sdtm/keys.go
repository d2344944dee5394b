package sdtm

import (
	"strings"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// keys remembers every key (USUBJID + --SEQ) a file has had and where each
// was first seen, exactly, in memory that stays small for files of
// millions of rows: a subject's positions are held in a slice indexed by
// --SEQ, as --SEQ numbers are small and dense within a subject, so a key
// costs four bytes (eight at most, counting the slice's spare capacity).
// Numbers too large or negative for the slice go to a map, at the cost of
// a map entry each.
type keys struct {
	subjects map[string]*seqs
}

type seqs struct {
	dense  []int32       // line or row of --SEQ i; 0 for none yet
	n      int           // keys held in dense
	sparse map[int]int32 // the same for --SEQ values the slice does not hold
}

// denseSlack bounds the slice: it grows to take a --SEQ below twice the
// keys it holds plus denseSlack; a number further off goes to the map. So
// a subject's slice is never more than a few times its keys.
const denseSlack = 64

// add records k at pos and reports, for a key seen before, where it was
// first seen.
func (ks *keys) add(k key, pos source.Position) (first source.Position, dup bool) {
	if ks.subjects == nil {
		ks.subjects = map[string]*seqs{}
	}
	s := ks.subjects[k.id]
	if s == nil {
		s = &seqs{}
		// A CSV reader's values share the memory of their whole row; keep
		// only the USUBJID.
		ks.subjects[strings.Clone(k.id)] = s
	}
	at := int32(pos.Row)
	if pos.Line > 0 {
		at = int32(pos.Line)
	}
	prev := s.sparse[k.seq]
	switch {
	case prev != 0:
	case k.seq >= 0 && k.seq < len(s.dense):
		prev = s.dense[k.seq]
		if prev == 0 {
			s.dense[k.seq] = at
			s.n++
		}
	case k.seq >= 0 && k.seq < 2*s.n+denseSlack:
		s.dense = append(s.dense, make([]int32, k.seq+1-len(s.dense))...)
		s.dense[k.seq] = at
		s.n++
	default:
		if s.sparse == nil {
			s.sparse = map[int]int32{}
		}
		s.sparse[k.seq] = at
	}
	if prev == 0 {
		return source.Position{}, false
	}
	if pos.Line > 0 {
		return source.Position{Line: int(prev)}, true
	}
	return source.Position{Row: int(prev)}, true
}
