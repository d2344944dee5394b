package stackdump

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func fixtureGroups(t *testing.T) []Group {
	t.Helper()
	return GroupGoroutines(parseFixture(t, "go1.27-goroutineleak.txt"))
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, fixtureGroups(t), ReportOptions{Top: 2}); err != nil {
		t.Fatal(err)
	}
	want := "23 goroutines in 17 groups\n" +
		"\n     4  chan receive, 4 leaked\n" +
		"        at      main.leak.func1  " + genFile + ":250\n" +
		"        created main.leak  " + genFile + ":249\n" +
		"\n     3  chan receive, waiting up to 1m\n" +
		"        at      main.receiver  " + genFile + ":151\n" +
		"        created main.startAll  " + genFile + ":126\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteTextLabelsAndFrames(t *testing.T) {
	var labelled Group
	for _, g := range fixtureGroups(t) {
		if g.Labels != nil {
			labelled = g
		}
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, []Group{labelled}, ReportOptions{Frames: 2}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`        labels  handler="checkout" "tenant id"="acme \"corp\""` + "\n",
		"          main.labelled.func1\n              " + genFile + ":181\n",
		"          runtime/pprof.Do\n",
		"          ... 1 more frames\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("missing %q in\n%s", want, buf.String())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureGroups(t), ReportOptions{Top: 3}); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Goroutines, Groups int
		Top                []struct {
			Count, Leaked  int
			State          string
			MaxWait        string  `json:"max_wait"`
			MaxWaitSeconds float64 `json:"max_wait_seconds"`
			Top, Creator   struct {
				Func, File string
				Line       int
			}
			IDs    []int64
			Frames []struct{ Func string }
		} `json:"top_groups"`
	}
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Goroutines != 23 || r.Groups != 17 || len(r.Top) != 3 {
		t.Fatalf("report = %+v", r)
	}
	first, second := r.Top[0], r.Top[1]
	if first.Count != 4 || first.Leaked != 4 || first.Top.Func != "main.leak.func1" || first.Top.Line != 250 ||
		first.Creator.Func != "main.leak" || len(first.IDs) != 4 || first.IDs[0] != 25 || first.Frames[0].Func != "main.leak.func1" {
		t.Errorf("first group = %+v", first)
	}
	if second.MaxWait != "1m" || second.MaxWaitSeconds != 60 || second.State != "chan receive" {
		t.Errorf("second group = %+v", second)
	}
}

func TestWriteHTMLEscapes(t *testing.T) {
	g := worker(1, "select", 3, map[string]string{"user": "<script>alert(1)</script>"})
	groups := GroupGoroutines([]Goroutine{g, worker(2, "sleep", 4, nil)})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, groups, ReportOptions{Top: 1}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<script>") || !strings.Contains(out, "&lt;script&gt;") {
		t.Errorf("label not escaped:\n%s", out)
	}
	for _, want := range []string{"2 goroutines in 2 groups, largest 1 shown", "<code>main.work</code>", "/app/main.go:3", "e.g. goroutine 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(out, "/app/main.go:4") {
		t.Error("Top: 1 still rendered the second group")
	}
}

func diffFixture() []Change {
	before := []Group{group("steady", 50), group("grows", 5), group("shrinks", 20)}
	after := []Group{group("steady", 50), group("grows", 105), group("shrinks", 15)}
	for i := range after {
		after[i].Top = Frame{Func: "main." + after[i].Signature, File: "/app/main.go", Line: 10 + i}
	}
	return Diff(before, after)
}

func TestWriteDiffText(t *testing.T) {
	tests := []struct {
		opt  ReportOptions
		want []string
		not  []string
	}{
		{ReportOptions{}, []string{"75 → 170 goroutines (+95), 2 of 3 groups changed", "  +100  5 → 105  select\n        at      main.grows  /app/main.go:11", "    -5  20 → 15"}, []string{"main.steady"}},
		{ReportOptions{All: true}, []string{"main.steady", "main.grows", "main.shrinks"}, nil},
		{ReportOptions{GrowthOnly: true, All: true}, []string{"main.grows"}, []string{"main.steady", "main.shrinks"}},
		{ReportOptions{Top: 1}, []string{"main.grows"}, []string{"main.shrinks"}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := WriteDiffText(&buf, diffFixture(), tt.opt); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%+v: missing %q in\n%s", tt.opt, w, buf.String())
			}
		}
		for _, n := range tt.not {
			if strings.Contains(buf.String(), n) {
				t.Errorf("%+v: unexpected %q in\n%s", tt.opt, n, buf.String())
			}
		}
	}
}

func TestWriteDiffJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteDiffJSON(&buf, diffFixture(), ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Before, After int
		Changes       []struct {
			Before, After, Delta, Count int
			Top                         struct{ Func string }
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.Before != 75 || d.After != 170 || len(d.Changes) != 2 {
		t.Fatalf("diff = %+v", d)
	}
	if c := d.Changes[0]; c.Delta != 100 || c.Before != 5 || c.After != 105 || c.Count != 105 || c.Top.Func != "main.grows" {
		t.Errorf("first change = %+v", c)
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWritersReportWriteErrors(t *testing.T) {
	groups := fixtureGroups(t)
	writers := map[string]func() error{
		"text":      func() error { return WriteText(failingWriter{}, groups, ReportOptions{}) },
		"json":      func() error { return WriteJSON(failingWriter{}, groups, ReportOptions{}) },
		"html":      func() error { return WriteHTML(failingWriter{}, groups, ReportOptions{}) },
		"diff text": func() error { return WriteDiffText(failingWriter{}, diffFixture(), ReportOptions{}) },
		"diff json": func() error { return WriteDiffJSON(failingWriter{}, diffFixture(), ReportOptions{}) },
	}
	for name, write := range writers {
		if err := write(); !errors.Is(err, errWrite) {
			t.Errorf("%s: err = %v, want %v", name, err, errWrite)
		}
	}
}

func TestFormatWait(t *testing.T) {
	for d, want := range map[string]string{"1m": "1m", "12m": "12m", "1h": "1h", "90m": "1h30m", "1234m": "20h34m", "90s": "1m30s"} {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatWait(dur); got != want {
			t.Errorf("formatWait(%s) = %q, want %q", d, got, want)
		}
	}
}
