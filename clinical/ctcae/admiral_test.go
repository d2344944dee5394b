package ctcae

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAdmiralAgreement compares the pilot's grades with those of an
// implementation trialwatch did not write: pharmaverse admiral's CTCAE
// metadata, applied to the pilot by testdata/admiral_crosscheck.py (which
// writes testdata/admiral-VERSION.csv.gz for CTCAE v4.03, v5.0, v6.0 and
// DAIDS v2.1). It tallies, per term, the
// records both grade alike and every kind of difference, in
// testdata/admiral-agreement-VERSION.golden (-update rewrites it); the
// README explains each difference. admiral takes the worst case where CTCAE
// needs symptoms, so the comparison grades WithContext(WorstCase); the
// number-only grades are tallied too.
func TestAdmiralAgreement(t *testing.T) {
	if testing.Short() {
		t.Skip("grades the whole pilot LB; skipped with -short")
	}
	p := loadPilot(t)
	for _, c := range []Criteria{V403, V50, V60, DAIDS21} {
		t.Run(string(c), func(t *testing.T) {
			version := strings.TrimPrefix(string(c), "ctcae-")
			admiral := readAdmiral(t, filepath.Join("testdata", "admiral-"+version+".csv.gz"))
			var b strings.Builder
			fmt.Fprintf(&b, "# %s grades of the CDISC pilot LB, trialwatch against admiral's metadata (testdata/admiral_crosscheck.py)\n", c)
			for _, gc := range Contexts {
				b.WriteString(agreement(c, gc, p, admiral))
			}
			path := filepath.Join("testdata", "admiral-agreement-"+version+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("agreement with admiral differs from %s (run with -update if intended):\n%s", path, diffLines(string(want), got))
			}
		})
	}
}

type admiralKey struct{ usubjid, seq, term string }

func readAdmiral(t *testing.T, path string) map[admiralKey]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	grades := make(map[admiralKey]string, len(rows))
	for _, r := range rows[1:] {
		grades[admiralKey{r[0], r[1], r[2]}] = r[3]
	}
	return grades
}

// agreement tallies, per term admiral grades, how trialwatch's grades in
// context gc compare with admiral's.
func agreement(c Criteria, gc Context, p *pilotLabs, admiral map[admiralKey]string) string {
	type tally struct {
		compared, agree int
		diffs           map[string]int
	}
	terms := map[string]*tally{}
	for _, l := range p.labs {
		for _, r := range p.grade(c, l, WithContext(gc)) {
			a, ok := admiral[admiralKey{l.USUBJID, strconv.Itoa(l.Seq), r.Term}]
			if !ok {
				continue
			}
			tl := terms[r.Term]
			if tl == nil {
				tl = &tally{diffs: map[string]int{}}
				terms[r.Term] = tl
			}
			tl.compared++
			ours := "NA"
			if r.Gradable {
				ours = strconv.Itoa(r.Grade)
			}
			if ours == a {
				tl.agree++
				continue
			}
			if !r.Gradable {
				ours = "not gradable (" + r.Reason + ")"
			}
			tl.diffs[fmt.Sprintf("trialwatch %s, admiral %s", ours, a)]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: term\tcompared\tagree\tdifferences\n", gc)
	names := make(map[string]int, len(terms))
	compared, agree := 0, 0
	for name, tl := range terms {
		names[name] = 0
		compared += tl.compared
		agree += tl.agree
	}
	for _, name := range sortedKeys(names) {
		tl := terms[name]
		var diffs []string
		for _, d := range sortedKeys(tl.diffs) {
			diffs = append(diffs, fmt.Sprintf("%s: %d", d, tl.diffs[d]))
		}
		fmt.Fprintf(&b, "%s\t%d\t%d\t%s\n", name, tl.compared, tl.agree, strings.Join(diffs, "; "))
	}
	fmt.Fprintf(&b, "# %s: %d of %d agree (%.2f%%)\n", gc, agree, compared, 100*float64(agree)/float64(compared))
	return b.String()
}
