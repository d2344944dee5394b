package csvfile

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pilotLabs is the pilot's lab file, which the demo embeds.
func pilotLabs(b *testing.B) []byte {
	f, err := os.Open("../../../pilotdata/cdiscpilot01/lb.csv.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkCSVGuard is what following a CSV file's quoting for its limits
// costs: the pilot's lab file parsed by encoding/csv straight from memory,
// then through the guard, in the same run.
func BenchmarkCSVGuard(b *testing.B) {
	data := pilotLabs(b)
	parse := func(b *testing.B, open func() io.Reader) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			cr := csv.NewReader(open())
			cr.ReuseRecord = true
			for {
				if _, err := cr.Read(); err != nil {
					break
				}
			}
		}
	}
	b.Run("plain", func(b *testing.B) { parse(b, func() io.Reader { return bytes.NewReader(data) }) })
	b.Run("guarded", func(b *testing.B) {
		parse(b, func() io.Reader {
			return newCSVGuard(bytes.NewReader(data), "lb", source.Bounds{Record: 1 << 20, Value: 8 << 10})
		})
	})
}

// Rows come with the line they start on, a quoted value's line breaks
// included; a record past the bound ends the read at its own line.
func TestRecordsLinesAndBound(t *testing.T) {
	in := "A,B\n1,\"two\nlines\"\n3,4\n5," + strings.Repeat("x", 100) + "\n"
	r := New("x.csv", strings.NewReader(in), source.Bounds{Record: 64, Value: 32})
	if h, err := r.Columns(); err != nil || !slices.Equal(h, []string{"A", "B"}) {
		t.Fatalf("columns %v, %v", h, err)
	}
	for _, want := range []struct {
		line int
		b    string
	}{{2, "two\nlines"}, {4, "4"}} {
		cells, pos, err := r.Next()
		if err != nil || pos.Line != want.line || len(cells) != 2 || cells[1] != (source.Cell{Kind: source.Text, Text: want.b}) {
			t.Fatalf("row %+v at %+v, %v; want B %q on line %d", cells, pos, err, want.b, want.line)
		}
	}
	_, _, err := r.Next()
	var e *source.Error
	if !errors.As(err, &e) || e.Line != 5 || e.Msg != "record longer than 64 bytes, the most a record may be" {
		t.Fatalf("past the bound: %v, want line 5's record too long", err)
	}
}
