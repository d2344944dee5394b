package stackdump

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"testing/iotest"
)

func FuzzParse(f *testing.F) {
	// Seeds are single goroutine blocks of the real fixtures: whole dumps
	// are tens of kilobytes, which makes the fuzzer spend its time
	// minimizing instead of exploring.
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	seen := map[string]bool{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, block := range bytes.Split(b, []byte("\n\n")) {
			if len(block) < 4<<10 && !seen[string(block)] {
				seen[string(block)] = true
				f.Add(block)
			}
		}
	}
	f.Add(readFixture(f, "go1.21-handwritten.txt"))
	f.Add([]byte("goroutine 1 [x] {\"\\"))
	f.Add([]byte("goroutine 1 [a labels:{\"k\": \"v\"}] {k: v}:\nf()\n\t:"))
	f.Add([]byte("# count: 3\ngoroutine 0 [select] {\"k\":\"v\"}:\nf(...)\n\t/a.go:9\n\n# count: 2\ngoroutine 0 [select]:\nf(...)\n\t/a.go:9\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		gs, err := ParseBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		streamed, err := Parse(iotest.OneByteReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gs, streamed) {
			t.Fatalf("Parse and ParseBytes disagree")
		}
		n := 0
		for _, g := range GroupGoroutines(gs) {
			n += g.Count
			if g.Signature == "" || g.Count == 0 || len(g.IDs) > g.Count {
				t.Fatalf("bad group %+v", g)
			}
		}
		if n != len(gs) {
			t.Fatalf("groups hold %d goroutines, parsed %d", n, len(gs))
		}
		groups, counted, err := ParseGroups(b)
		if err != nil {
			t.Fatal(err)
		}
		if counted != len(gs) || len(groups) != len(GroupGoroutines(gs)) {
			t.Fatalf("ParseGroups: %d goroutines in %d groups, ParseBytes %d in %d", counted, len(groups), len(gs), len(GroupGoroutines(gs)))
		}
		_ = Diff(GroupGoroutines(gs), nil)
	})
}
