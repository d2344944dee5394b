package sdtm

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// Streaming a file in chunks hands over exactly the records Read gives,
// in order, in every format, each chunk locatable by CheckSubjects.
func TestStreamGivesWhatReadGives(t *testing.T) {
	for _, c := range []struct {
		domain string
		format Format
		chunk  int
	}{{"lb", CSV, 7000}, {"ae", CSV, 100}, {"ae", DatasetJSON, 100}, {"ae", XPT, 100}} {
		name := c.domain + " " + string(c.format)
		path := pilotPath(c.domain, c.format)
		whole := readPilot(t, c.domain, c.format)
		var got Batch
		chunks := 0
		err := Stream(path, bytes.NewReader(unzip(t, path)), c.format, pilot, c.chunk, func(b *Batch) error {
			if n := b.Len(); n == 0 || n > c.chunk {
				t.Errorf("%s: chunk of %d records", name, n)
			}
			chunks++
			got.Append(b)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := (whole.Len() + c.chunk - 1) / c.chunk; chunks != want {
			t.Errorf("%s: %d chunks, want %d", name, chunks, want)
		}
		if !reflect.DeepEqual(got.Labs, whole.Labs) || !reflect.DeepEqual(got.Events, whole.Events) {
			t.Errorf("%s: streamed records differ from those read whole", name)
		}
		// Both locate a record of an unknown subject alike.
		for _, b := range []*Batch{&got, whole} {
			if n := len(b.Labs); n > 0 {
				b.Labs[n-1].USUBJID = "X"
			}
			if n := len(b.Events); n > 0 {
				b.Events[n-1].USUBJID = "X"
			}
		}
		known := func(id string) bool { return id != "X" }
		if g, w := got.CheckSubjects(known).Error(), whole.CheckSubjects(known).Error(); g != w {
			t.Errorf("%s: streamed chunk located as %q, want %q", name, g, w)
		}
	}
}

func lbRows(n int, edit func(i int, row []string)) string {
	var sb strings.Builder
	sb.WriteString("STUDYID,DOMAIN,USUBJID,LBSEQ,LBTESTCD,LBSTRESN,LBSTRESU,LBSTNRLO,LBSTNRHI\n")
	for i := range n {
		row := []string{pilot, "LB", fmt.Sprintf("S-%d", i/10), fmt.Sprint(i%10 + 1), "ALT", "20", "U/L", "6", "34"}
		if edit != nil {
			edit(i, row)
		}
		sb.WriteString(strings.Join(row, ",") + "\n")
	}
	return sb.String()
}

// A bad row in a late chunk: the chunks before it were handed over, none
// after, and every problem is reported where it is.
func TestStreamStopsHandingOverAtTheFirstBadRow(t *testing.T) {
	in := lbRows(100, func(i int, row []string) {
		switch i {
		case 85:
			row[5] = "high" // line 87
		case 97:
			row[4] = "" // line 99
		}
	})
	var handed int
	err := Stream("lb.csv", strings.NewReader(in), CSV, pilot, 20, func(b *Batch) error {
		handed += b.Len()
		return nil
	})
	wantErrors(t, err,
		`lb.csv:87: column LBSTRESN: "high" is not a number`,
		`lb.csv:99: column LBTESTCD: required value is missing`)
	if handed != 80 {
		t.Errorf("handed over %d records, want the 80 of the chunks before the bad row", handed)
	}
}

// Keys are unique across the whole file, not only within a chunk.
func TestStreamFindsDuplicatesAcrossChunks(t *testing.T) {
	in := lbRows(50, func(i int, row []string) {
		if i == 45 {
			row[2], row[3] = "S-0", "3" // line 47 repeats line 4
		}
	})
	err := Stream("lb.csv", strings.NewReader(in), CSV, pilot, 10, func(*Batch) error { return nil })
	wantErrors(t, err, `lb.csv:47: column LBSEQ: duplicate key USUBJID "S-0", LBSEQ 3 (first on line 4)`)
}

// An error of the callback ends the read and is returned as is.
func TestStreamReturnsTheCallbacksError(t *testing.T) {
	stop := errors.New("disk full")
	calls := 0
	err := Stream("lb.csv", strings.NewReader(lbRows(50, nil)), CSV, pilot, 10, func(*Batch) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("err = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestKeysAreExactWhateverTheSeq(t *testing.T) {
	var ks keys
	seqs := []int{2000, 1, 39, 5, -3, 1 << 40, 0, 70, 100, 130, 2000, 150}
	for i, s := range seqs {
		first, dup := ks.add(key{"S", s}, source.Position{Line: i + 2})
		if want := i == 10; dup != want {
			t.Errorf("seq %d on line %d: dup = %v, want %v", s, i+2, dup, want)
		}
		if dup && first.Line != 2 {
			t.Errorf("seq %d first on line %d, want 2", s, first.Line)
		}
	}
	for i, s := range seqs {
		if _, dup := ks.add(key{"S", s}, source.Position{Row: 100 + i}); !dup {
			t.Errorf("seq %d again: not a duplicate", s)
		}
		if _, dup := ks.add(key{"T", s}, source.Position{Row: 200 + i}); dup && s != 2000 {
			t.Errorf("seq %d of another subject: a duplicate", s)
		}
	}
}

func TestDomainReadsTheFirstRow(t *testing.T) {
	for _, f := range []Format{CSV, DatasetJSON, XPT} {
		if d := Domain("dm", bytes.NewReader(unzip(t, pilotPath("dm", f))), f); d != "DM" {
			t.Errorf("%s: domain %q, want DM", f, d)
		}
	}
	for _, in := range []string{"", "STUDYID\nX\n", "DOMAIN\n"} {
		if d := Domain("x.csv", strings.NewReader(in), CSV); d != "" {
			t.Errorf("%q: domain %q, want none", in, d)
		}
	}
}
