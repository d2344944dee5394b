package kris_test

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sdtm"
)

var update = flag.Bool("update", false, "rewrite testdata/pilot-kris.csv")

// pilotStored is when the pilot's records count as first stored: every
// dated record is years late, as in a demo loaded today.
var pilotStored = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// pilotInputs are the CDISC pilot's KRI inputs, read from the embedded
// SDTM files: DM, DS and AE as they are; each subject's lab grades and
// findings as its check makes them (rules.Assess with the defaults a
// study that set nothing runs with); entry lags as of pilotStored.
var pilotInputs = sync.OnceValues(func() (kri.Inputs, error) {
	b, err := pilotdata.Load()
	if err != nil {
		return kri.Inputs{}, err
	}
	if len(b.Dispositions) == 0 {
		rc, err := pilotdata.Open("ds")
		if err != nil {
			return kri.Inputs{}, errNoDS
		}
		defer rc.Close()
		if err := sdtm.ReadCSV("ds.csv", rc, pilotdata.Study, b); err != nil {
			return kri.Inputs{}, err
		}
	}
	in := kri.Inputs{Subjects: b.Subjects, Dispositions: b.Dispositions, LabGrades: map[string]kri.LabGrades{},
		LabLags: map[string]kri.EntryLags{}, Findings: map[string]kri.Findings{}}
	byID := map[string]*rules.Input{}
	for _, s := range b.Subjects {
		byID[s.USUBJID] = &rules.Input{Subject: s, HaveDoses: true, HaveEvents: true}
	}
	for _, d := range b.Doses {
		byID[d.USUBJID].Doses = append(byID[d.USUBJID].Doses, d)
	}
	for _, e := range b.Events {
		if lag, ok := daysSince(e.Start); ok {
			e.EntryLag, e.HasEntryLag = lag, true
		}
		in.Events = append(in.Events, e)
		byID[e.USUBJID].Events = append(byID[e.USUBJID].Events, e)
	}
	for _, l := range b.Labs {
		byID[l.USUBJID].Labs = append(byID[l.USUBJID].Labs, l)
		if lag, ok := daysSince(l.Date); ok {
			el := in.LabLags[l.USUBJID]
			el.Dated++
			if lag > kri.LateEntryDays {
				el.Late++
			}
			in.LabLags[l.USUBJID] = el
		}
	}
	for id, ri := range byID {
		a := rules.Assess(rules.DefaultConfig(), *ri)
		in.LabGrades[id] = kri.LabGrades{Graded: a.Graded, Grade3Plus: a.Severe}
		var f kri.Findings
		for _, sg := range a.Signals {
			f.Total++
			switch sg.Rule {
			case rules.SAELate:
				f.LateSAE++
			case rules.LabAEUnreconciled:
				f.Unreconciled++
			}
		}
		in.Findings[id] = f
	}
	return in, nil
})

var errNoDS = fmt.Errorf("the pilot's DS is not in pilotdata")

// daysSince is how many days before pilotStored a full date lies.
func daysSince(d clinical.Date) (int, bool) {
	if len(d) < 10 {
		return 0, false
	}
	t, ok := clinical.Date(d[:10]).Time()
	if !ok {
		return 0, false
	}
	return int(pilotStored.Sub(t) / (24 * time.Hour)), true
}

func loadPilot(tb testing.TB) kri.Inputs {
	tb.Helper()
	in, err := pilotInputs()
	if err == errNoDS {
		tb.Skip("the pilot's DS (pilotdata/cdiscpilot01/ds.csv.gz) is not embedded")
	}
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// pilotCSV writes a report as the cross-check reads it: one row per KRI
// and site, then the site risk scores (srs0001: weight, of the largest
// weight, as a percentage) and the QTLs.
func pilotCSV(r kri.Report) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"kri", "site", "numerator", "denominator", "metric", "score", "flag"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	for _, a := range r.KRIs {
		for _, s := range a.Sites {
			score, flag := "", ""
			if s.Scored {
				score, flag = f(s.Score), strconv.Itoa(s.Flag)
			}
			w.Write([]string{a.Spec.ID, s.Site, f(s.Numerator), f(s.Denominator), f(s.Metric), score, flag})
		}
	}
	for _, rs := range r.RiskScores {
		w.Write([]string{"srs0001", rs.Site, f(rs.Raw), f(rs.Max), f(rs.Score), "", ""})
	}
	for _, q := range r.QTLs {
		exceeded := "0"
		if q.Exceeded {
			exceeded = "1"
		}
		w.Write([]string{"qtl:" + q.ID, "", f(q.Numerator), f(q.Denominator), f(q.Metric), f(q.Limit), exceeded})
	}
	w.Flush()
	return buf.Bytes()
}

// TestPilotKRIs computes the pilot's KRIs and compares them with
// testdata/pilot-kris.csv (go test -run TestPilotKRIs -update rewrites
// it), and that file with testdata/pilot-crosscheck.csv, which
// testdata/crosscheck.py computes on its own from the SDTM files.
func TestPilotKRIs(t *testing.T) {
	in := loadPilot(t)
	got := pilotCSV(kri.Compute(kri.Settings{}, in))
	const golden = "testdata/pilot-kris.csv"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the pilot's KRIs differ from %s (-update rewrites it):\n%s", golden, got)
	}
	cross, err := os.ReadFile("testdata/pilot-crosscheck.csv")
	if err != nil {
		t.Fatal(err)
	}
	compareCSV(t, readCSV(t, got), readCSV(t, cross))
}

func readCSV(t *testing.T, b []byte) map[[2]string][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string][]string{}
	for _, r := range rows[1:] {
		out[[2]string{r[0], r[1]}] = r[2:]
	}
	return out
}

// compareCSV wants the same rows with the same values within 1e-5 (blank
// where blank).
func compareCSV(t *testing.T, got, cross map[[2]string][]string) {
	t.Helper()
	for k, c := range cross {
		g, ok := got[k]
		if !ok {
			t.Errorf("cross-check has %v, the implementation does not", k)
			continue
		}
		for i := range c {
			if (g[i] == "") != (c[i] == "") {
				t.Errorf("%v column %d: %q, cross-check %q", k, i+2, g[i], c[i])
				continue
			}
			if g[i] == "" {
				continue
			}
			gv, err1 := strconv.ParseFloat(g[i], 64)
			cv, err2 := strconv.ParseFloat(c[i], 64)
			if err1 != nil || err2 != nil || math.Abs(gv-cv) > 1e-5 {
				t.Errorf("%v column %d: %q, cross-check %q", k, i+2, g[i], c[i])
			}
		}
	}
	if len(got) != len(cross) {
		t.Errorf("%d rows, cross-check %d", len(got), len(cross))
	}
}
