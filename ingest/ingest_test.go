package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
	alldb "github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const dm = `"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFICDTC","RFXSTDTC"
"S1","DM","S1-001","701","F",63,"2014-01-01","2014-01-02"
"S1","DM","S1-002","702","M",70,"2014-01-01","2014-01-03"
`

const lbHeader = `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBTEST","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBDTC","VISIT"
`

const lb = lbHeader + `"S1","LB","S1-001",1,"ALT","Alanine Aminotransferase",200,"U/L",6,34,"2014-01-16","WEEK 2"
"S1","LB","S1-002",1,"ALT","Alanine Aminotransferase",20,"U/L",6,34,"2014-01-16","WEEK 2"
`

type server struct {
	url string
	db  *sqldb.DB
}

func newServer(t *testing.T, db *sqldb.DB) *server {
	local, err := alldb.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&ingest.Handler{Target: local}).Register(mux)
	// The uploads act for trialwatch itself: the access layer, which
	// would name the caller, is not under test here.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(auth.WithSystem(r.Context())))
	}))
	t.Cleanup(srv.Close)
	return &server{url: srv.URL + "/api/v1/studies/S1/uploads", db: db}
}

// upload posts files as multipart/form-data.
func (s *server) upload(t *testing.T, files map[string]string) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for name, content := range files {
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write([]byte(content))
	}
	mw.Close()
	resp, err := http.Post(s.url, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (s *server) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUploadStoresAndQueuesChecks(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := newServer(t, db)
		code, out := s.upload(t, map[string]string{"dm.csv": dm, "lb.csv": lb})
		if code != http.StatusOK {
			t.Fatalf("upload: %d %v", code, out)
		}
		if s.count(t, "subjects") != 2 || s.count(t, "lab_results") != 2 || s.count(t, "check_jobs") != 2 {
			t.Fatalf("stored %d subjects, %d labs, %d jobs; want 2, 2, 2", s.count(t, "subjects"), s.count(t, "lab_results"), s.count(t, "check_jobs"))
		}
		if out["checks_queued"] != 2.0 {
			t.Errorf("answer %v; want 2 checks queued", out)
		}

		// The same rows again: nothing changes, no check is queued.
		db.ExecContext(context.Background(), "DELETE FROM check_jobs")
		code, out = s.upload(t, map[string]string{"lb.csv": lb})
		if code != http.StatusOK || out["checks_queued"] != 0.0 || s.count(t, "check_jobs") != 0 || s.count(t, "lab_results_history") != 0 {
			t.Fatalf("duplicate upload: %d %v, %d jobs; want nothing new", code, out, s.count(t, "check_jobs"))
		}

		// One changed value: updated, recorded in history, its subject queued.
		changed := strings.Replace(lb, `"S1-002",1,"ALT","Alanine Aminotransferase",20`, `"S1-002",1,"ALT","Alanine Aminotransferase",25`, 1)
		code, out = s.upload(t, map[string]string{"lb.csv": changed})
		if code != http.StatusOK || out["checks_queued"] != 1.0 || s.count(t, "lab_results_history") != 1 {
			t.Fatalf("changed upload: %d %v; want 1 check queued and 1 history row", code, out)
		}
	})
}

func TestUploadWithOneBadRowStoresNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := newServer(t, db)
		bad := lb + `"S1","LB","S1-002",2,"AST","Aspartate Aminotransferase",abc,"U/L",8,40,"2014-01-16","WEEK 2"` + "\n"
		code, out := s.upload(t, map[string]string{"dm.csv": dm, "lb.csv": bad})
		if code != http.StatusUnprocessableEntity {
			t.Fatalf("upload with a bad row: %d %v; want 422", code, out)
		}
		problems, _ := out["problems"].([]any)
		if len(problems) != 1 {
			t.Fatalf("problems %v; want exactly the bad cell", out["problems"])
		}
		p := problems[0].(map[string]any)
		if p["file"] != "lb.csv" || p["line"] != 4.0 || p["column"] != "LBSTRESN" {
			t.Errorf("problem %v; want lb.csv line 4 column LBSTRESN", p)
		}
		if s.count(t, "subjects") != 0 || s.count(t, "lab_results") != 0 || s.count(t, "check_jobs") != 0 {
			t.Error("a rejected upload stored something")
		}
	})
}

func TestUploadOfLabsForUnknownSubjectIsRefused(t *testing.T) {
	s := newServer(t, sqldbtest.SQLite(t))
	code, out := s.upload(t, map[string]string{"lb.csv": lb})
	if code != http.StatusUnprocessableEntity || !strings.Contains(toJSON(out), "S1-001") {
		t.Fatalf("labs before their subjects: %d %v; want 422 naming the subject", code, out)
	}
	if s.count(t, "lab_results") != 0 {
		t.Error("labs of unknown subjects stored")
	}
}

func TestRawUpload(t *testing.T) {
	s := newServer(t, sqldbtest.SQLite(t))
	post := func(query, body string) int {
		resp, err := http.Post(s.url+query, "text/csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("", dm); code != http.StatusBadRequest {
		t.Errorf("raw body without domain/format: %d, want 400", code)
	}
	if code := post("?domain=LB&format=csv", dm); code != http.StatusUnprocessableEntity {
		t.Errorf("DM file sent as LB: %d, want 422", code)
	}
	if code := post("?domain=DM&format=csv", dm); code != http.StatusOK {
		t.Errorf("raw DM upload: %d, want 200", code)
	}
	if s.count(t, "subjects") != 2 {
		t.Errorf("%d subjects stored, want 2", s.count(t, "subjects"))
	}
	if code := post("?domain=DM&format=sas7bdat", dm); code != http.StatusUnprocessableEntity {
		t.Errorf("unknown format: %d, want 422", code)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// conflicting is a target whose every upload meets another one storing
// the same new rows at the same time.
type conflicting struct{}

func (conflicting) Store(context.Context, string, []string, time.Time, func(ingest.Upload) error) (ingest.Result, error) {
	return ingest.Result{}, fmt.Errorf("storing DM: %w", clinical.ErrConflict)
}

// An upload that raced another one for the same new rows is the client's
// to send again: 409, not a server error.
func TestConcurrentUploadOfTheSameRowsIsAConflict(t *testing.T) {
	mux := http.NewServeMux()
	(&ingest.Handler{Target: conflicting{}}).Register(mux)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(auth.WithSystem(r.Context())))
	}))
	defer srv.Close()
	s := &server{url: srv.URL + "/api/v1/studies/S1/uploads"}
	code, out := s.upload(t, map[string]string{"dm.csv": dm})
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(out["error"]), "send this upload again") {
		t.Errorf("upload racing another: %d %v; want 409 asking to send it again", code, out)
	}
}

const ds = `"STUDYID","DOMAIN","USUBJID","DSSEQ","DSTERM","DSDECOD","DSCAT","DSSTDTC"
"S1","DS","S1-001",1,"RANDOMIZED","RANDOMIZED","PROTOCOL MILESTONE","2014-01-02"
"S1","DS","S1-001",2,"PROTOCOL COMPLETED","COMPLETED","DISPOSITION EVENT","2014-07-02"
"S1","DS","S1-002",1,"RANDOMIZED","RANDOMIZED","PROTOCOL MILESTONE","2014-01-03"
`

const cm = `"STUDYID","DOMAIN","USUBJID","CMSEQ","CMTRT","CMDECOD","CMSTDTC","CMENDTC"
"S1","CM","S1-001",1,"ASPIRIN","ACETYLSALICYLIC ACID","2003",""
"S1","CM","S1-002",1,"MYLANTA","UNCODED","2014-01-21","2014-01-24"
`

// DS and CM are stored like the other domains, in the upload's one
// transaction, with change detection and history; no check reads them,
// so they queue none.
func TestUploadStoresDispositionsAndConMeds(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := newServer(t, db)
		code, out := s.upload(t, map[string]string{"dm.csv": dm, "ds.csv": ds, "cm.csv": cm})
		if code != http.StatusOK {
			t.Fatalf("upload: %d %v", code, out)
		}
		if s.count(t, "dispositions") != 3 || s.count(t, "con_meds") != 2 {
			t.Fatalf("stored %d DS and %d CM records; want 3 and 2", s.count(t, "dispositions"), s.count(t, "con_meds"))
		}
		domains := out["domains"].(map[string]any)
		if domains["DS"].(map[string]any)["inserted"] != 3.0 || domains["CM"].(map[string]any)["inserted"] != 2.0 || out["checks_queued"] != 2.0 {
			t.Errorf("answer %v; want 3 DS and 2 CM inserted, DM's 2 checks queued", out)
		}
		db.ExecContext(context.Background(), "DELETE FROM check_jobs")
		changed := strings.Replace(cm, `"MYLANTA","UNCODED"`, `"MYLANTA","ALUMINIUM HYDROXIDE"`, 1)
		code, out = s.upload(t, map[string]string{"ds.csv": ds, "cm.csv": changed})
		domains, _ = out["domains"].(map[string]any)
		if code != http.StatusOK || domains["DS"].(map[string]any)["unchanged"] != 3.0 || domains["CM"].(map[string]any)["updated"] != 1.0 {
			t.Fatalf("second upload: %d %v; want DS unchanged and one CM updated", code, out)
		}
		if s.count(t, "con_meds_history") != 1 || s.count(t, "dispositions_history") != 0 || s.count(t, "check_jobs") != 0 {
			t.Errorf("%d CM and %d DS history rows, %d checks queued; want 1, 0, 0",
				s.count(t, "con_meds_history"), s.count(t, "dispositions_history"), s.count(t, "check_jobs"))
		}
	})
}

// A bad DS or CM row, or a record of an unknown subject, stores nothing
// of the whole upload.
func TestUploadOfBadDispositionsOrConMedsStoresNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := newServer(t, db)
		for name, files := range map[string]map[string]string{
			"bad CM date": {"dm.csv": dm, "ds.csv": ds, "cm.csv": strings.Replace(cm, `"2014-01-24"`, `"2014-01-32"`, 1)},
			"DS without DSDECOD": {"dm.csv": dm, "cm.csv": cm,
				"ds.csv": strings.Replace(ds, `"PROTOCOL COMPLETED","COMPLETED"`, `"PROTOCOL COMPLETED",""`, 1)},
			"unknown subject": {"dm.csv": dm, "cm.csv": cm, "ds.csv": strings.Replace(ds, `"S1-002",1`, `"S1-009",1`, 1)},
		} {
			code, out := s.upload(t, files)
			problems, _ := out["problems"].([]any)
			if code != http.StatusUnprocessableEntity || len(problems) != 1 {
				t.Errorf("%s: %d %v; want 422 naming the one problem", name, code, out)
			}
			for _, table := range []string{"subjects", "dispositions", "con_meds", "check_jobs"} {
				if n := s.count(t, table); n != 0 {
					t.Errorf("%s: %d rows stored in %s", name, n, table)
				}
			}
		}
	})
}
