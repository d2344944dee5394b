package capture

import (
	"bytes"
	"maps"
	"runtime/pprof"
	"slices"
	"testing"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// A profile in protocol-buffer form, as another process's pprof endpoint
// serves it, gives the same groups as this process's concurrent capture:
// states, frames with file:line, counts and labels, but no creators.
func TestProtoDumpMatchesConcurrentCapture(t *testing.T) {
	startParked(t)
	waitParked(t)
	var proto bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&proto, 0); err != nil {
		t.Fatal(err)
	}
	if !stackdump.IsProto(proto.Bytes()) {
		t.Fatal("pprof's debug=0 answer is not recognised as a protocol-buffer profile")
	}
	text, err := stackdump.ProtoDump(proto.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	gs, err := stackdump.ParseBytes(text)
	if err != nil {
		t.Fatal(err)
	}
	fromProto := parkedGroups(stackdump.GroupGoroutines(gs))
	local, err := stackdump.ParseBytes(captureConcurrent(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	conc := parkedGroups(stackdump.GroupGoroutines(local))
	if len(fromProto) != len(wantParked) {
		t.Fatalf("proto dump has groups of %d parked kinds, want %d: %v", len(fromProto), len(wantParked), parkedSummary(fromProto))
	}
	for fn, cs := range conc {
		ps := fromProto[fn]
		if len(ps) != 1 || len(cs) != 1 {
			t.Errorf("%s: %d groups from the proto, %d concurrent, want 1 each", fn, len(ps), len(cs))
			continue
		}
		p, c := ps[0], cs[0]
		if p.Creator != nil {
			t.Errorf("%s: a creator %v from another process's profile", fn, p.Creator)
		}
		if p.State != c.State || p.Count != c.Count || !slices.Equal(p.Frames, c.Frames) || !maps.Equal(p.Labels, c.Labels) {
			t.Errorf("%s: from the proto %q ×%d %v\n%v\nconcurrent %q ×%d %v\n%v", fn, p.State, p.Count, p.Labels, p.Frames, c.State, c.Count, c.Labels, c.Frames)
		}
	}
}
