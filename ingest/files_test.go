package ingest_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// A real SDTM folder holds domains trialwatch does not read and files
// that are not datasets: Collect keeps DM, EX, AE, LB, DS and CM and
// lists the rest with the reason, instead of failing on the first.
func TestCollectSkipsWhatTrialwatchDoesNotRead(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"dm.csv":     dm,
		"lb.csv":     lbFile(4, nil),
		"sv.csv":     `"STUDYID","DOMAIN","USUBJID","SVSEQ"` + "\n" + `"S1","SV","S1-001",1` + "\n",
		"suppae.csv": `"STUDYID","RDOMAIN","USUBJID","QNAM"` + "\n" + `"S1","AE","S1-001","AETRTEM"` + "\n",
		"define.xml": "<ODM/>",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "older"), 0o755)
	os.WriteFile(filepath.Join(dir, "older", "ae.csv"), []byte("not read: a subfolder"), 0o644)

	files, skipped, err := ingest.Collect([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f.Name)+" "+f.Domain)
	}
	if strings.Join(got, ", ") != "dm.csv DM, lb.csv LB" {
		t.Errorf("files %q, want dm.csv DM, lb.csv LB", got)
	}
	var skips []string
	for _, s := range skipped {
		skips = append(skips, strings.TrimPrefix(s.String(), dir+string(filepath.Separator)))
	}
	want := []string{
		"define.xml: not a format trialwatch reads (.csv, .json, .xpt, optionally .gz)",
		"suppae.csv: domain SUPPAE is not read by trialwatch",
		"sv.csv: domain SV is not read by trialwatch",
	}
	if strings.Join(skips, "\n") != strings.Join(want, "\n") {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skips, "\n"), strings.Join(want, "\n"))
	}

	// A glob the shell left alone, and the same file named twice.
	files, skipped, err = ingest.Collect([]string{filepath.Join(dir, "*.csv"), filepath.Join(dir, "dm.csv")})
	if err != nil || len(files) != 2 || len(skipped) != 2 {
		t.Errorf("glob: %d files, %d skipped, %v; want 2, 2 (suppae, sv)", len(files), len(skipped), err)
	}
	for _, tt := range []struct {
		paths []string
		want  string
	}{
		{[]string{filepath.Join(dir, "none.csv")}, "none.csv: no such file"},
		{[]string{filepath.Join(dir, "*.xpt")}, "*.xpt: no file matches"},
		{[]string{filepath.Join(dir, "sv.csv"), filepath.Join(dir, "define.xml")}, "nothing to import in "},
	} {
		if _, _, err := ingest.Collect(tt.paths); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Collect(%q): %v, want %q", tt.paths, err, tt.want)
		}
	}
}

var groupLine = regexp.MustCompile(`^lb\.csv:(\d+): column USUBJID: subject "([^"]+)" is neither in DM nor known to the study(?:: (\d+) rows, lines (\d+)(–| to )(\d+))?$`)

// LB without its DM: each unknown subject is one problem with its rows
// and lines, not a hundred copies of one message, and the totals are
// those of the whole file, counted apart from trialwatch here.
func TestUnknownSubjectsAreGroupedWithTrueTotals(t *testing.T) {
	rows, subjects := pilotLBCounts(t)
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		_, err := ingest.IngestFiles(ctx, openLocal(t, db), pilotdata.Study, []ingest.File{pilotFile("lb")}, 0, time.Now())
		if err == nil {
			t.Fatal("LB without DM was stored")
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != 102 {
			t.Fatalf("%d lines, want 100 subjects, the rest, the total:\n%s", len(lines), err)
		}
		listed, after := 0, 0
		for _, line := range lines[:100] {
			m := groupLine.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("not a subject's group: %q", line)
			}
			s, first := subjects[m[2]], atoi(m[1])
			n, last, together := 1, first, true
			if m[3] != "" {
				n, last, together = atoi(m[3]), atoi(m[6]), m[5] == "–"
			}
			if first <= after || first != s.first || last != s.last || n != s.rows || together != (s.last-s.first+1 == s.rows) {
				t.Errorf("%q: want lines %d to %d, %d rows, after line %d", line, s.first, s.last, s.rows, after)
			}
			listed, after = listed+n, first
		}
		if want := fmt.Sprintf("lb.csv: and %d more problems, on %d rows, not listed", len(subjects)-100, rows-listed); lines[100] != want {
			t.Errorf("got %q, want %q", lines[100], want)
		}
		if want := fmt.Sprintf("lb.csv: in all %d rows of %d subject(s) neither in DM nor known to the study", rows, len(subjects)); lines[101] != want {
			t.Errorf("got %q, want %q", lines[101], want)
		}
		if n := count(t, db, "lab_results"); n != 0 {
			t.Errorf("%d lab results stored", n)
		}
	})
}

// Rows of unknown subjects that interleave with others keep their
// first and last line; the rows of known subjects are not counted.
func TestInterleavedUnknownSubjects(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		lb := lbFile(100, func(i int, row []string) {
			if i%2 == 1 {
				row[2] = `"S1-009"`
			}
		})
		dmOnly1 := strings.SplitAfterN(dm, "\n", 3)
		_, err := ingest.IngestFiles(ctx, openLocal(t, db), "S1", []ingest.File{memFile("dm.csv", dmOnly1[0]+dmOnly1[1]), memFile("lb.csv", lb)}, 10, time.Now())
		want := `lb.csv:3: column USUBJID: subject "S1-009" is neither in DM nor known to the study: 50 rows, lines 3 to 101`
		if err == nil || err.Error() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	})
}

// WithProgress reports each file's rows as they are read, up to all of
// them.
func TestIngestFilesReportsProgress(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		last := map[string]int{}
		_, err := ingest.IngestFiles(ctx, openLocal(t, db), "S1", []ingest.File{memFile("lb.csv", lbFile(100, nil)), memFile("dm.csv", dm)}, 20, time.Now(),
			ingest.WithProgress(func(file string, rows int) {
				if rows <= last[file] {
					t.Errorf("%s: %d rows after %d", file, rows, last[file])
				}
				last[file] = rows
			}))
		if err != nil {
			t.Fatal(err)
		}
		if last["lb.csv"] != 100 || last["dm.csv"] != strings.Count(dm, "\n")-1 {
			t.Errorf("progress ended at %v", last)
		}
	})
}

type lbSubject struct{ rows, first, last int }

// pilotLBCounts reads the pilot's LB with encoding/csv: its rows, and
// each subject's with the lines of its first and last.
func pilotLBCounts(t *testing.T) (rows int, subjects map[string]*lbSubject) {
	t.Helper()
	rc, err := pilotdata.Open("lb")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := csv.NewReader(rc)
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range header {
		if h == "USUBJID" {
			col = i
		}
	}
	subjects = map[string]*lbSubject{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, subjects
		} else if err != nil {
			t.Fatal(err)
		}
		rows++
		line, _ := r.FieldPos(0)
		s := subjects[rec[col]]
		if s == nil {
			s = &lbSubject{first: line}
			subjects[rec[col]] = s
		}
		s.rows++
		s.last = line
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// An upload's 422 lists the grouped problems and says how many rows have
// one in all.
func TestUploadAnswersGroupedProblemsWithTheirTotal(t *testing.T) {
	s := newServer(t, sqldbtest.SQLite(t))
	code, out := s.upload(t, map[string]string{"lb.csv": lbFile(60, nil)})
	if code != http.StatusUnprocessableEntity || out["error"] != "nothing stored: problems on 60 rows in the upload" {
		t.Fatalf("labs of two unknown subjects: %d %v", code, out)
	}
	ps, _ := out["problems"].([]any)
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, fmt.Sprint(p.(map[string]any)["line"], " ", p.(map[string]any)["message"]))
	}
	want := []string{
		`2 subject "S1-001" is neither in DM nor known to the study: 30 rows, lines 2 to 60`,
		`3 subject "S1-002" is neither in DM nor known to the study: 30 rows, lines 3 to 61`,
		`<nil> in all 60 rows of 2 subject(s) neither in DM nor known to the study`,
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	// Problems past the limit of reading: the total says so.
	code, out = s.upload(t, map[string]string{"lb.csv": lbFile(300, func(i int, row []string) { row[6] = "abc" })})
	if code != http.StatusUnprocessableEntity || out["error"] != "nothing stored: problems on 100 rows or more (reading stopped at the limit) in the upload" {
		t.Errorf("300 bad values: %d %v", code, out["error"])
	}
}
