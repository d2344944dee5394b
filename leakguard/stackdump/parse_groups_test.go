package stackdump

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"testing"
	"time"
)

// ParseGroups groups as GroupGoroutines(ParseBytes(b)) does, counted
// goroutines included, without expanding them. Captured dumps are checked
// in package capture.
func TestParseGroupsMatchesParseBytes(t *testing.T) {
	var proto bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&proto, 0); err != nil {
		t.Fatal(err)
	}
	dumps := map[string][]byte{
		"generated":   generateDump(500, true),
		"proto":       proto.Bytes(),
		"count lines": []byte("# count: 3\ngoroutine 0 [chan receive (leaked)]:\nmain.f()\n\t/a.go:1\n\n# count: 2\ngoroutine 0 [chan receive]:\nmain.f()\n\t/a.go:1\n\ngoroutine 0 [chan receive, 3 minutes]:\nmain.f()\n\t/a.go:1\n"),
	}
	for _, name := range []string{"go1.26-goroutineleak.txt", "go1.27-stack.txt", "go1.26-labels-stack.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		dumps[name] = b
	}
	for name, b := range dumps {
		gs, err := ParseBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		want := GroupGoroutines(gs)
		got, n, err := ParseGroups(b)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(gs) {
			t.Errorf("%s: ParseGroups counts %d goroutines, ParseBytes parsed %d", name, n, len(gs))
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d groups, want %d", name, len(got), len(want))
			continue
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Signature != w.Signature || g.Count != w.Count || g.Leaked != w.Leaked || g.MaxWait != w.MaxWait ||
				!slices.Equal(g.IDs, w.IDs) || !maps.Equal(g.Labels, w.Labels) {
				t.Errorf("%s: group %d\n%+v\nwant\n%+v", name, i, g, w)
			}
		}
	}
	if g, _, _ := ParseGroups(dumps["count lines"]); len(g) != 1 || g[0].Count != 6 || g[0].Leaked != 3 || g[0].MaxWait != 3*time.Minute {
		t.Errorf("count lines: %+v", g)
	}
}
