package stackdump

import (
	"bytes"
	"runtime/pprof"
	"slices"
	"testing"
)

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

// Parse reads a profile saved as pprof serves it (curl's file) as
// ParseBytes does, not as a text dump without goroutines.
func TestParseReadsAProfile(t *testing.T) {
	var proto bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&proto, 0); err != nil {
		t.Fatal(err)
	}
	want, err := ParseBytes(proto.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(bytes.NewReader(proto.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("Parse: %d goroutines, ParseBytes: %d", len(got), len(want))
	}
	for i := range want {
		if got[i].State != want[i].State || !slices.Equal(got[i].Frames, want[i].Frames) {
			t.Errorf("goroutine %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := Parse(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil {
		t.Error("Parse of a broken gzip header: no error")
	}
}
