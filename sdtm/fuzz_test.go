package sdtm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/trialwatch/trialwatch/sdtm/internal/xptfile"
)

var fuzzDomains = []string{"dm", "ae", "ex", "ds", "cm"}

// fuzzRead checks a reader never panics, keeps a file all or nothing, and
// bounds and locates what it reports.
func fuzzRead(f *testing.F, seeds [][]byte, read func(data []byte, b *Batch) error) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Batch
		err := read(data, &b)
		if err == nil {
			if b.Len() == 0 {
				t.Fatal("accepted a file without records")
			}
			return
		}
		if b.Len() != 0 {
			t.Fatalf("kept %d records of a bad file", b.Len())
		}
		var errs Errors
		if errors.As(err, &errs) && len(errs) > maxErrors+1 {
			t.Fatalf("%d errors reported", len(errs))
		}
		var one *Error
		if !errors.As(err, &one) || one.File != "fuzz" {
			t.Fatalf("error %#v does not name the file", err)
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	seeds := [][]byte{labProblems.csv()}
	for _, d := range append(fuzzDomains, "lb") {
		data := unzip(f, pilotPath(d, CSV))
		seeds = append(seeds, data[:nthIndex(data, '\n', 4)+1])
	}
	fuzzRead(f, seeds, func(data []byte, b *Batch) error {
		return ReadCSV("fuzz", bytes.NewReader(data), pilot, b)
	})
}

func FuzzReadDatasetJSON(f *testing.F) {
	seeds := [][]byte{labProblems.json()}
	for _, d := range fuzzDomains {
		var doc struct {
			Columns json.RawMessage
			Rows    []json.RawMessage
		}
		if err := json.Unmarshal(unzip(f, pilotPath(d, DatasetJSON)), &doc); err != nil {
			f.Fatal(err)
		}
		rows, _ := json.Marshal(doc.Rows[:3])
		seeds = append(seeds, fmt.Appendf(nil, `{"records":3,"columns":%s,"rows":%s}`, doc.Columns, rows))
	}
	fuzzRead(f, seeds, func(data []byte, b *Batch) error {
		return ReadDatasetJSON("fuzz", bytes.NewReader(data), pilot, b)
	})
}

func FuzzReadXPT(f *testing.F) {
	seeds := [][]byte{xpt(140, xptDM, xptAE), xpt(136, labProblems)}
	for _, d := range fuzzDomains[:4] {
		data := unzip(f, pilotPath(d, XPT))
		// The headers and the first few records of observations.
		seeds = append(seeds, data[:bytes.Index(data, []byte(xptfile.ObsHeader))+6*xptfile.RecordSize])
	}
	fuzzRead(f, seeds, func(data []byte, b *Batch) error {
		return ReadXPT("fuzz", bytes.NewReader(data), "", pilot, b)
	})
}

// nthIndex is the index of the n-th c in b, or len(b).
func nthIndex(b []byte, c byte, n int) int {
	at := -1
	for range n {
		i := bytes.IndexByte(b[at+1:], c)
		if i < 0 {
			return len(b)
		}
		at += 1 + i
	}
	return at
}
