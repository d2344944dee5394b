package stackdump

import (
	"cmp"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Group is a set of goroutines with the same state and the same stack.
type Group struct {
	// Signature identifies the group across dumps: state, frame functions,
	// files and lines, and the creator, without arguments, IDs or wait
	// durations, which differ between otherwise identical goroutines.
	Signature string
	State     string
	Count     int
	MaxWait   time.Duration
	// Leaked counts members that carried the "(leaked)" marker.
	Leaked int
	// Top is the first frame outside the runtime and internal packages,
	// which is where a reader should start looking; the first frame if the
	// stack is all runtime.
	Top     Frame
	Creator *Frame
	Frames  []Frame
	// IDs holds up to 10 sample goroutine IDs, in dump order; none for a
	// dump rendered from a goroutine profile, which has no IDs (all 0).
	IDs []int64
	// Labels are the pprof labels shared by every member; nil if none are.
	Labels map[string]string
}

const maxSampleIDs = 10

// GroupGoroutines groups goroutines by signature, sorted by Count
// descending, then Signature.
//
// Groups copy what they keep, so holding on to them does not pin the
// parsed dump in memory.
func GroupGoroutines(gs []Goroutine) []Group { return groupCounted(gs, nil) }

// groupCounted groups goroutines, each standing for counts[i] identical
// ones (one each if counts is nil).
func groupCounted(gs []Goroutine, counts []int) []Group {
	weight := func(i int) int {
		if counts == nil {
			return 1
		}
		return counts[i]
	}
	seed := maphash.MakeSeed()
	// Goroutines are bucketed by a hash of their stack and compared exactly
	// within a bucket: building a signature string per goroutine would
	// allocate hundreds of bytes for each of them.
	buckets := make(map[uint64][]int)
	var groups []Group
	var reps []*Goroutine // representative member of groups[i]
	gi := -1
	for i := range gs {
		g := &gs[i]
		// The copies ParseBytes makes of a "# count: N" goroutine share
		// its frames: no need to hash them again.
		if i > 0 && gi >= 0 && sharesStack(&gs[i-1], g) {
			groups[gi].add(g, weight(i))
			continue
		}
		h := stackHash(seed, g)
		gi = -1
		for _, j := range buckets[h] {
			if sameStack(reps[j], g) {
				gi = j
				break
			}
		}
		if gi < 0 {
			gi = len(groups)
			buckets[h] = append(buckets[h], gi)
			groups = append(groups, newGroup(g, weight(i)))
			reps = append(reps, g)
		} else {
			groups[gi].add(g, weight(i))
		}
	}
	for i := range groups {
		groups[i].Signature = signature(reps[i])
	}
	slices.SortFunc(groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Signature, b.Signature))
	})
	return groups
}

func newGroup(g *Goroutine, n int) Group {
	gr := Group{
		State:  g.State,
		Frames: slices.Clone(g.Frames),
		Labels: maps.Clone(g.Labels),
	}
	if g.CreatedBy != nil {
		c := *g.CreatedBy
		gr.Creator = &c
	}
	gr.Top = topFrame(gr.Frames)
	gr.count(g, n)
	return gr
}

func (gr *Group) add(g *Goroutine, n int) {
	gr.count(g, n)
	for k, v := range gr.Labels {
		if w, ok := g.Labels[k]; !ok || w != v {
			delete(gr.Labels, k)
		}
	}
	if len(gr.Labels) == 0 {
		gr.Labels = nil
	}
}

func (gr *Group) count(g *Goroutine, n int) {
	gr.Count += n
	gr.MaxWait = max(gr.MaxWait, g.Wait)
	if g.Leaked {
		gr.Leaked += n
	}
	if len(gr.IDs) < maxSampleIDs && g.ID != 0 {
		gr.IDs = append(gr.IDs, g.ID)
	}
}

func stackHash(seed maphash.Seed, g *Goroutine) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(g.State)
	for _, f := range g.Frames {
		writeFrame(&h, f)
	}
	if g.CreatedBy != nil {
		writeFrame(&h, *g.CreatedBy)
	}
	if g.Elided {
		h.WriteByte(1)
	}
	return h.Sum64()
}

func writeFrame(h *maphash.Hash, f Frame) {
	// The separators keep ("ab","c") and ("a","bc") apart.
	h.WriteByte(0)
	h.WriteString(f.Func)
	h.WriteByte(0)
	h.WriteString(f.File)
	h.WriteByte(byte(f.Line))
	h.WriteByte(byte(f.Line >> 8))
	h.WriteByte(byte(f.Line >> 16))
}

// sharesStack reports goroutines whose frames and creator are the same
// memory, which only copies of one parsed goroutine are.
func sharesStack(a, b *Goroutine) bool {
	return a.State == b.State && a.Elided == b.Elided && a.CreatedBy == b.CreatedBy &&
		len(a.Frames) == len(b.Frames) && len(a.Frames) > 0 && &a.Frames[0] == &b.Frames[0]
}

func sameStack(a, b *Goroutine) bool {
	if a.State != b.State || a.Elided != b.Elided || !slices.Equal(a.Frames, b.Frames) {
		return false
	}
	if a.CreatedBy == nil || b.CreatedBy == nil {
		return a.CreatedBy == b.CreatedBy
	}
	return *a.CreatedBy == *b.CreatedBy
}

// signature renders the group key in the dump's own layout, so it reads
// like a stack trace wherever it is shown.
func signature(g *Goroutine) string {
	var b strings.Builder
	b.WriteString(g.State)
	b.WriteByte('\n')
	for _, f := range g.Frames {
		writeSigFrame(&b, "", f)
	}
	if g.Elided {
		b.WriteString("...frames elided...\n")
	}
	if g.CreatedBy != nil {
		writeSigFrame(&b, "created by ", *g.CreatedBy)
	}
	return b.String()
}

func writeSigFrame(b *strings.Builder, prefix string, f Frame) {
	b.WriteString(prefix)
	b.WriteString(f.Func)
	b.WriteString("\n\t")
	b.WriteString(f.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(f.Line))
	b.WriteByte('\n')
}

func topFrame(frames []Frame) Frame {
	for _, f := range frames {
		if !isRuntimeFunc(f.Func) {
			return f
		}
	}
	if len(frames) > 0 {
		return frames[0]
	}
	return Frame{}
}

// isRuntimeFunc reports frames that say how a goroutine blocks rather than
// where: the runtime, internal packages, and the runtime_* hooks the runtime
// links into sync and internal/poll ("sync.runtime_SemacquireMutex").
// "panic" is how the runtime prints runtime.gopanic.
func isRuntimeFunc(fn string) bool {
	return fn == "panic" ||
		strings.HasPrefix(fn, "runtime.") ||
		strings.HasPrefix(fn, "runtime/internal/") ||
		strings.HasPrefix(fn, "internal/") ||
		strings.Contains(fn, ".runtime_")
}
