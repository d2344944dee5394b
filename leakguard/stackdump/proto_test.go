package stackdump

import (
	"bytes"
	"maps"
	"runtime/pprof"
	"slices"
	"testing"
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
	if !IsProto(proto.Bytes()) {
		t.Fatal("pprof's debug=0 answer is not recognised as a protocol-buffer profile")
	}
	text, err := ProtoDump(proto.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	gs, err := ParseBytes(text)
	if err != nil {
		t.Fatal(err)
	}
	fromProto := parkedGroups(GroupGoroutines(gs))
	local, err := ParseBytes(captureConcurrent(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	conc := parkedGroups(GroupGoroutines(local))
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

func TestProtoDumpRefusesWhatIsNotAProfile(t *testing.T) {
	for name, b := range map[string][]byte{
		"text dump":   []byte("goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\n"),
		"bad gzip":    {0x1f, 0x8b, 0, 0},
		"truncated":   {0x0a, 0x10, 0x01},
		"empty proto": {},
	} {
		if _, err := ProtoDump(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
