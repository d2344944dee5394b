package ingest_test

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	alldb "github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func memFile(name, content string) ingest.File {
	return ingest.File{Name: name, Format: sdtm.CSV, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(content)), nil
	}}
}

func pilotFile(domain string) ingest.File {
	return ingest.File{Name: domain + ".csv", Format: sdtm.CSV, Open: func() (io.ReadCloser, error) { return pilotdata.Open(domain) }}
}

func openLocal(t *testing.T, db *sqldb.DB) *alldb.Target {
	t.Helper()
	l, err := alldb.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// dump is the rows of from (a table or an aliased subquery) as text, in
// the order given.
func dump(t *testing.T, db *sqldb.DB, from, order string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "SELECT * FROM "+from+" ORDER BY "+order)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	return out
}

// Streaming the pilot in chunks stores what the batch path stores, and
// answers the same; again, it changes nothing.
func TestIngestFilesStoresWhatIngestStores(t *testing.T) {
	if testing.Short() {
		t.Skip("stores the whole pilot twice")
	}
	for _, be := range sqldbtest.Backends() {
		t.Run(be.Name, func(t *testing.T) { testIngestFilesLikeIngest(t, be.Open(t), be.Open(t)) })
	}
}

func testIngestFilesLikeIngest(t *testing.T, db, batchDB *sqldb.DB) {
	ctx := auth.WithSystem(context.Background())
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	b, err := pilotdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ingest.Ingest(ctx, openLocal(t, batchDB), pilotdata.Study, b, now)
	if err != nil {
		t.Fatal(err)
	}
	local := openLocal(t, db)
	// LB, DS and CM before DM: DM is still stored first.
	files := []ingest.File{pilotFile("lb"), pilotFile("ds"), pilotFile("ex"), pilotFile("ae"), pilotFile("cm"), pilotFile("dm")}
	got, err := ingest.IngestFiles(ctx, local, pilotdata.Study, files, 5000, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("streamed import answered %+v, want %+v", got, want)
	}
	// Lab results with their subjects and tests: IDs may differ
	// (PostgreSQL's sequences leave gaps).
	labs := `(SELECT study, usubjid, seq, test_code, test, category, unit, value, low, high, baseline, lab_date, visit
		FROM lab_results_view) AS labs`
	for _, c := range []struct{ name, from, order string }{
		{"subjects", "subjects", "usubjid"}, {"doses", "doses", "usubjid, seq"},
		{"adverse_events", "adverse_events", "usubjid, seq"}, {"lab_results", labs, "usubjid, seq"},
		{"dispositions", "dispositions", "usubjid, seq"}, {"con_meds", "con_meds", "usubjid, seq"},
	} {
		if g, w := dump(t, db, c.from, c.order), dump(t, batchDB, c.from, c.order); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: streamed %d rows differ from the batch's %d", c.name, len(g), len(w))
		}
	}
	if n := count(t, db, "check_jobs"); n != 306 {
		t.Errorf("%d checks queued, want 306", n)
	}

	again, err := ingest.IngestFiles(ctx, local, pilotdata.Study, files, 5000, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.Queued != 0 || again.Domains["LB"].Unchanged != 59580 || again.Domains["LB"].Inserted+again.Domains["LB"].Updated != 0 ||
		again.Domains["DS"].Unchanged != 850 || again.Domains["CM"].Unchanged != 7510 {
		t.Errorf("re-import answered %+v, want all unchanged", again)
	}
	if n := count(t, db, "lab_results_history") + count(t, db, "subjects_history") + count(t, db, "dispositions_history") +
		count(t, db, "con_meds_history"); n != 0 {
		t.Errorf("re-import wrote %d history rows", n)
	}
}

func lbFile(n int, edit func(i int, row []string)) string {
	var sb strings.Builder
	sb.WriteString(lbHeader)
	for i := range n {
		row := []string{`"S1"`, `"LB"`, `"S1-00` + fmt.Sprint(i%2+1) + `"`, fmt.Sprint(i/2 + 1), `"ALT"`, `"Alanine Aminotransferase"`,
			"20", `"U/L"`, "6", "34", `"2014-01-16"`, `"WEEK 2"`}
		if edit != nil {
			edit(i, row)
		}
		sb.WriteString(strings.Join(row, ",") + "\n")
	}
	return sb.String()
}

func TestIngestFilesIsAllOrNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		local := openLocal(t, db)
		nothingStored := func(what string) {
			t.Helper()
			for _, table := range []string{"subjects", "lab_results", "check_jobs"} {
				if n := count(t, db, table); n != 0 {
					t.Errorf("%s: %d rows in %s, want none", what, n, table)
				}
			}
		}
		for _, c := range []struct {
			name string
			lb   string
			want string
		}{
			{"a bad value in a late chunk", lbFile(100, func(i int, row []string) {
				if i == 90 {
					row[6] = "abc"
				}
			}), `lb.csv:92: column LBSTRESN: "abc" is not a number`},
			{"a duplicate key in another chunk", lbFile(100, func(i int, row []string) {
				if i == 95 {
					row[3] = "1" // line 97 repeats S1-002's LBSEQ 1 on line 3
				}
			}), `lb.csv:97: column LBSEQ: duplicate key USUBJID "S1-002", LBSEQ 1 (first on line 3)`},
			{"a subject neither in DM nor stored, in a late chunk", lbFile(100, func(i int, row []string) {
				if i == 80 {
					row[2] = `"S1-009"`
				}
			}), `lb.csv:82: column USUBJID: subject "S1-009" is neither in DM nor known to the study`},
		} {
			_, err := ingest.IngestFiles(ctx, local, "S1", []ingest.File{memFile("dm.csv", dm), memFile("lb.csv", c.lb)}, 10, time.Now())
			if err == nil || err.Error() != c.want {
				t.Errorf("%s: err = %v, want %s", c.name, err, c.want)
			}
			nothingStored(c.name)
		}

		// Records of a subject stored before are welcome; changed ones are
		// recorded and queued, unchanged ones left alone.
		if _, err := ingest.IngestFiles(ctx, local, "S1", []ingest.File{memFile("dm.csv", dm), memFile("lb.csv", lbFile(40, nil))}, 10, time.Now()); err != nil {
			t.Fatal(err)
		}
		db.ExecContext(ctx, "DELETE FROM check_jobs")
		changed := lbFile(40, func(i int, row []string) {
			if i == 33 {
				row[6] = "250"
			}
		})
		res, err := ingest.IngestFiles(ctx, local, "S1", []ingest.File{memFile("lb.csv", changed)}, 10, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if lb := res.Domains["LB"]; lb.Updated != 1 || lb.Unchanged != 39 || res.Queued != 1 || !reflect.DeepEqual(lb.Subjects, []string{"S1-002"}) {
			t.Errorf("one changed row: %+v", res)
		}
		if count(t, db, "lab_results_history") != 1 || count(t, db, "check_jobs") != 1 {
			t.Errorf("one changed row: %d history rows, %d checks queued; want 1, 1", count(t, db, "lab_results_history"), count(t, db, "check_jobs"))
		}
	})
}
