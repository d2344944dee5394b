package capture

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"

	"github.com/trialwatch/trialwatch/leakguard/stackdump/internal/profiletext"
)

// Profile renders a goroutine profile of this process, "goroutine" or
// "goroutineleak", as a dump stackdump.ParseBytes reads, the way Within does
// when a full dump does not fit its budget: without goroutine IDs, wait
// times, or creators other than learned ones. Goroutines of the
// goroutineleak profile carry the "(leaked)" marker. Neither profile stops
// the world for longer than a moment at debug=1, which is what it reads;
// at debug=2 both are full dumps.
func Profile(p *pprof.Profile) ([]byte, error) {
	text, _, err := appendProfile(nil, p, &learnedUse{})
	return text, err
}

// Identical goroutines are written once, after a "# count: N" line that
// stackdump.ParseBytes expands, so the text stays small however many
// goroutines share a stack. needed reports a record with labels or with a stack
// runtime.GoroutineProfile would have cut.
func appendProfile(out []byte, p *pprof.Profile, used *learnedUse) (_ []byte, needed bool, err error) {
	var prof bytes.Buffer
	// debug=1 is the aggregated text form: "N @ pc pc …" per distinct stack
	// and label set, with "# labels: {…}" under it. The PCs are this
	// process's, so they are symbolized here, runtime frames included, which
	// is what says what a goroutine is waiting for.
	if err := p.WriteTo(&prof, 1); err != nil {
		return out, false, err
	}
	marker := ""
	if p.Name() == "goroutineleak" {
		marker = " (leaked)"
	}
	out = slices.Grow(out, prof.Len()*2)
	var frames []runtime.Frame
	for rec := range profileRecords(prof.Bytes()) {
		needed = needed || len(rec.labels) > 0 || len(rec.pcs) >= plainDepth
		frames = symbolize(frames[:0], rec.pcs)
		out = profiletext.AppendGoroutine(out, profiletext.Record{Count: rec.count, Labels: rec.labels}, frames, marker, used.creator)
	}
	return out, needed, nil
}

type profileRecord struct {
	count  int
	pcs    []uintptr
	labels []byte // "{…}" as pprof prints it; nil if none
}

// profileRecords yields the records of a debug=1 goroutine profile.
func profileRecords(b []byte) func(yield func(profileRecord) bool) {
	return func(yield func(profileRecord) bool) {
		var rec profileRecord
		have := false
		for len(b) > 0 {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line, b = b[:i], b[i+1:]
			} else {
				b = nil
			}
			if labels, ok := bytes.CutPrefix(line, []byte("# labels: ")); ok && have {
				rec.labels = labels
				continue
			}
			countText, pcsText, ok := bytes.Cut(line, []byte(" @ "))
			if !ok {
				continue
			}
			count, err := strconv.Atoi(string(countText))
			if err != nil {
				continue
			}
			if have && !yield(rec) {
				return
			}
			rec = profileRecord{count: count}
			for f := range bytes.FieldsSeq(pcsText) {
				if pc, err := strconv.ParseUint(string(bytes.TrimPrefix(f, []byte("0x"))), 16, 64); err == nil {
					rec.pcs = append(rec.pcs, uintptr(pc))
				}
			}
			have = true
		}
		if have {
			yield(rec)
		}
	}
}

func symbolize(dst []runtime.Frame, pcs []uintptr) []runtime.Frame {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		dst = append(dst, f)
		if !more {
			return dst
		}
	}
}
