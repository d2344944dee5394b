package remote_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/remote"
	"github.com/trialwatch/trialwatch/rpc"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
	"github.com/trialwatch/trialwatch/subjects"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// split is a split deployment in one test: each data service on its own
// database behind a real Connect server, and the checker's database.
type split struct {
	target  *remote.Target
	checker *sqldb.DB
	svcDB   map[string]*sqldb.DB
	trail   *audit.Log
	// failAE makes the events service fail its write streams at their
	// end, as a service going down would: the client's Commit gets the
	// error.
	failAE atomic.Bool
	// holdDM makes the subjects service start serving each DM write
	// stream only after this long.
	holdDM time.Duration
}

func newSplit(t *testing.T) *split {
	ctx := context.Background()
	s := &split{checker: sqldbtest.SQLite(t), svcDB: map[string]*sqldb.DB{}}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	serve := func(name string, path string, h http.Handler) string {
		wrapped := h
		if name == "subjects" {
			wrapped = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/WriteSubjects") && s.holdDM > 0 {
					time.Sleep(s.holdDM)
				}
				h.ServeHTTP(w, r)
			})
		}
		if name == "events" {
			wrapped = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if s.failAE.Load() && strings.HasSuffix(r.URL.Path, "/WriteAdverseEvents") {
					// Read the stream, then fail as a dying service would.
					io.Copy(io.Discard, r.Body)
					http.Error(w, "events service going down", http.StatusServiceUnavailable)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
		mux := http.NewServeMux()
		mux.Handle(path, wrapped)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	db := func(name string) *sqldb.DB { s.svcDB[name] = sqldbtest.SQLite(t); return s.svcDB[name] }
	subj, err := subjects.Open(ctx, db("subjects"))
	if err != nil {
		t.Fatal(err)
	}
	expo, err := exposure.Open(ctx, db("exposure"))
	if err != nil {
		t.Fatal(err)
	}
	evts, err := events.Open(ctx, db("events"))
	if err != nil {
		t.Fatal(err)
	}
	p, h := rpc.SubjectHandler(subj)
	subjURL := serve("subjects", p, h)
	p, h = rpc.ExposureHandler(expo)
	expoURL := serve("exposure", p, h)
	p, h = rpc.EventHandler(evts)
	evtsURL := serve("events", p, h)

	labStore, err := labs.Open(ctx, s.checker)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := queue.Open(ctx, s.checker)
	if err != nil {
		t.Fatal(err)
	}
	if s.trail, err = audit.Open(ctx, s.checker); err != nil {
		t.Fatal(err)
	}
	subjClient, expoClient := rpc.NewSubjectClient(hc, subjURL), rpc.NewExposureClient(hc, expoURL)
	s.target = &remote.Target{Subjects: subjClient, Exposure: expoClient, Events: rpc.NewEventClient(hc, evtsURL),
		Dispositions: subjClient, ConMeds: expoClient, DB: s.checker, Labs: labStore, Queue: jobs}
	return s
}

// upload stores files through the target as an upload request would: as
// a site user of every site, with the audit record the access layer
// starts.
func (s *split) upload(t *testing.T, files map[string]string) (ingest.Result, error) {
	t.Helper()
	return s.uploadAs(t, []string{"701", "702"}, files)
}

// uploadAs is upload by a site user of sites.
func (s *split) uploadAs(t *testing.T, sites []string, files map[string]string) (ingest.Result, error) {
	t.Helper()
	var grants []auth.Grant
	for _, site := range sites {
		grants = append(grants, auth.Grant{Study: "S1", Site: site})
	}
	ctx := auth.NewContext(context.Background(), auth.Identity{Name: "site", Role: auth.RoleSite, Grants: grants})
	ctx = audit.WithPending(ctx, audit.NewPending(s.trail, audit.Record{Actor: "site", Role: "site", Study: "S1", Entity: "upload", Action: "create"}))
	var fs []ingest.File
	for _, name := range []string{"dm.csv", "ex.csv", "ae.csv", "lb.csv", "ds.csv", "cm.csv"} {
		if text, ok := files[name]; ok {
			fs = append(fs, ingest.File{Name: name, Format: sdtm.CSV, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(text)), nil
			}})
		}
	}
	return ingest.IngestFiles(ctx, s.target, "S1", fs, 2, time.Now()) // chunks of 2 records: several per stream
}

func (s *split) count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// actions lists the audit trail's actions in order.
func (s *split) actions(t *testing.T) []string {
	t.Helper()
	rows, err := s.checker.QueryContext(context.Background(), "SELECT action FROM audit_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

const (
	dm = `"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFICDTC","RFXSTDTC"
"S1","DM","S1-001","701","F",63,"2014-01-01","2014-01-02"
"S1","DM","S1-002","702","M",70,"2014-01-01","2014-01-03"
"S1","DM","S1-003","702","M",71,"2014-01-01","2014-01-03"
`
	ex = `"STUDYID","DOMAIN","USUBJID","EXSEQ","EXTRT","EXDOSE","EXDOSU","EXROUTE","EXSTDTC","EXENDTC"
"S1","EX","S1-001",1,"DRUG",54,"mg","TRANSDERMAL","2014-01-02","2014-02-02"
"S1","EX","S1-002",1,"DRUG",54,"mg","TRANSDERMAL","2014-01-03","2014-02-03"
"S1","EX","S1-003",1,"DRUG",54,"mg","TRANSDERMAL","2014-01-03","2014-02-03"
`
	ae = `"STUDYID","DOMAIN","USUBJID","AESEQ","AETERM","AEDECOD","AEBODSYS","AESEV","AESER","AESTDTC","AEENDTC","AEDTC"
"S1","AE","S1-001",1,"HEADACHE","Headache","Nervous system disorders","MILD","N","2014-01-05","2014-01-06","2014-01-07"
"S1","AE","S1-002",1,"NAUSEA","Nausea","Gastrointestinal disorders","MILD","N","2014-01-05","2014-01-06","2014-01-07"
"S1","AE","S1-003",1,"NAUSEA","Nausea","Gastrointestinal disorders","MILD","N","2014-01-05","2014-01-06","2014-01-07"
`
	lb = `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBTEST","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBDTC","VISIT"
"S1","LB","S1-001",1,"ALT","Alanine Aminotransferase",200,"U/L",6,34,"2014-01-16","WEEK 2"
"S1","LB","S1-002",1,"ALT","Alanine Aminotransferase",20,"U/L",6,34,"2014-01-16","WEEK 2"
"S1","LB","S1-003",1,"ALT","Alanine Aminotransferase",20,"U/L",6,34,"2014-01-16","WEEK 2"
`
)

// Every domain streams to its owner in chunks and is stored; the checks
// of every changed subject are due at once; the audit trail has the
// upload's intent, then its record.
func TestUploadStreamsToEachService(t *testing.T) {
	s := newSplit(t)
	res, err := s.upload(t, map[string]string{"dm.csv": dm, "ex.csv": ex, "ae.csv": ae, "lb.csv": lb})
	if err != nil {
		t.Fatal(err)
	}
	for domain, table := range map[string]string{"DM": "subjects", "EX": "doses", "AE": "adverse_events"} {
		db := s.svcDB[map[string]string{"DM": "subjects", "EX": "exposure", "AE": "events"}[domain]]
		if n := s.count(t, db, table); n != 3 || res.Domains[domain].Inserted != 3 {
			t.Errorf("%s: %d rows stored, summary %+v; want 3", domain, n, res.Domains[domain])
		}
	}
	if n := s.count(t, s.checker, "lab_results"); n != 3 || res.Domains["LB"].Inserted != 3 {
		t.Errorf("LB: %d rows stored, summary %+v; want 3", n, res.Domains["LB"])
	}
	due, err := s.target.Queue.ClaimBatch(context.Background(), time.Now(), time.Minute, 10)
	if err != nil || len(due) != 3 || res.Queued != 3 {
		t.Errorf("%d checks due at once (%v), %d queued; want 3", len(due), err, res.Queued)
	}
	if got := strings.Join(s.actions(t), " "); got != "create.started create" {
		t.Errorf("audit actions %q, want the intent then the record", got)
	}
}

// A bad row in a later file ends every open stream: the services keep
// nothing of what they were sent, the checker nothing either, and no
// check is queued.
func TestRefusedUploadLeavesEveryServiceUntouched(t *testing.T) {
	s := newSplit(t)
	bad := strings.Replace(lb, `"S1-003",1,`, `"S1-003",x,`, 1)
	_, err := s.upload(t, map[string]string{"dm.csv": dm, "ex.csv": ex, "ae.csv": ae, "lb.csv": bad})
	var errs sdtm.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want the bad row located", err)
	}
	for name, table := range map[string]string{"subjects": "subjects", "exposure": "doses", "events": "adverse_events"} {
		if n := s.count(t, s.svcDB[name], table); n != 0 {
			t.Errorf("%s kept %d rows of a refused upload", name, n)
		}
	}
	if n := s.count(t, s.checker, "lab_results") + s.count(t, s.checker, "check_jobs"); n != 0 {
		t.Errorf("the checker kept %d rows of a refused upload", n)
	}
	if a := s.actions(t); len(a) != 0 {
		t.Errorf("audit actions %q for an upload that stored nothing", a)
	}
}

// A service failing at the end of its stream: the domains committed
// before it are stored, it stores nothing, the error names it, the
// subjects' checks stay queued as a safety net, and the audit trail says
// what happened.
func TestServiceFailingItsCommit(t *testing.T) {
	s := newSplit(t)
	s.failAE.Store(true)
	res, err := s.upload(t, map[string]string{"dm.csv": dm, "ex.csv": ex, "ae.csv": ae, "lb.csv": lb})
	if err == nil || !strings.Contains(err.Error(), "storing AE") {
		t.Fatalf("err = %v, want the AE service's failure named", err)
	}
	if n := s.count(t, s.svcDB["events"], "adverse_events"); n != 0 {
		t.Errorf("the failing service stored %d events", n)
	}
	if s.count(t, s.svcDB["subjects"], "subjects") != 3 || s.count(t, s.svcDB["exposure"], "doses") != 3 || s.count(t, s.checker, "lab_results") != 3 {
		t.Error("the domains committed before the failure are not all stored")
	}
	if res.Domains["DM"].Inserted != 3 || res.Domains["AE"].Inserted != 0 {
		t.Errorf("result %+v: want DM stored and AE not", res.Domains)
	}
	if n := s.count(t, s.checker, "check_jobs"); n != 3 {
		t.Errorf("%d checks queued, want all 3 subjects'", n)
	}
	if got := strings.Join(s.actions(t), " "); got != "create.started create" {
		t.Errorf("audit actions %q, want the intent then the record of the partial upload", got)
	}
	var last string
	if err := s.checker.QueryRowContext(context.Background(), "SELECT new_value FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&last); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(last, `"failed"`) || !strings.Contains(last, "storing AE") || !strings.Contains(last, `"DM"`) {
		t.Errorf("the upload's audit record %s does not say what was stored and what failed", last)
	}
}

const (
	ds = `"STUDYID","DOMAIN","USUBJID","DSSEQ","DSTERM","DSDECOD","DSCAT","EPOCH","DSSTDTC"
"S1","DS","S1-001",1,"RANDOMIZED","RANDOMIZED","PROTOCOL MILESTONE","SCREENING","2014-01-02"
"S1","DS","S1-001",2,"PROTOCOL COMPLETED","COMPLETED","DISPOSITION EVENT","TREATMENT","2014-07-02"
"S1","DS","S1-002",1,"RANDOMIZED","RANDOMIZED","PROTOCOL MILESTONE","SCREENING","2014-01-03"
"S1","DS","S1-003",1,"RANDOMIZED","RANDOMIZED","PROTOCOL MILESTONE","SCREENING","2014-01-03"
`
	cm = `"STUDYID","DOMAIN","USUBJID","CMSEQ","CMTRT","CMDECOD","CMSTDTC","CMENDTC"
"S1","CM","S1-001",1,"ASPIRIN","ACETYLSALICYLIC ACID","2003",""
"S1","CM","S1-002",1,"MYLANTA","UNCODED","2014-01-21","2014-01-24"
"S1","CM","S1-003",1,"ASPIRIN","ACETYLSALICYLIC ACID","2010",""
`
)

// DS streams to the subjects service and CM to exposure, in chunks, with
// change detection; they queue no check of their own, and the upload is
// audited like any other.
func TestDispositionsAndConMedsStreamToTheirServices(t *testing.T) {
	s := newSplit(t)
	res, err := s.upload(t, map[string]string{"dm.csv": dm, "ds.csv": ds, "cm.csv": cm})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, s.svcDB["subjects"], "dispositions"); n != 4 || res.Domains["DS"].Inserted != 4 {
		t.Errorf("DS: %d rows stored, summary %+v; want 4", n, res.Domains["DS"])
	}
	if n := s.count(t, s.svcDB["exposure"], "con_meds"); n != 3 || res.Domains["CM"].Inserted != 3 {
		t.Errorf("CM: %d rows stored, summary %+v; want 3", n, res.Domains["CM"])
	}
	var epoch string
	if err := s.svcDB["subjects"].QueryRowContext(context.Background(),
		`SELECT epoch FROM dispositions WHERE usubjid = 'S1-001' AND seq = 2`).Scan(&epoch); err != nil || epoch != "TREATMENT" {
		t.Errorf("EPOCH stored as %q (%v), want TREATMENT", epoch, err)
	}
	// DS and CM alone: one record changed, stored and kept in history; no
	// check queued, not even as a safety net.
	jobs := s.count(t, s.checker, "check_jobs")
	res, err = s.upload(t, map[string]string{"ds.csv": strings.Replace(ds, `"2014-07-02"`, `"2014-07-03"`, 1), "cm.csv": cm})
	if err != nil {
		t.Fatal(err)
	}
	if res.Domains["DS"].Updated != 1 || res.Domains["DS"].Unchanged != 3 || res.Domains["CM"].Unchanged != 3 || res.Queued != 0 {
		t.Errorf("second upload: %+v; want one DS record updated, the rest unchanged, nothing queued", res)
	}
	if n := s.count(t, s.svcDB["subjects"], "dispositions_history"); n != 1 {
		t.Errorf("%d DS history rows, want 1", n)
	}
	if n := s.count(t, s.checker, "check_jobs"); n != jobs {
		t.Errorf("%d checks queued after a DS and CM upload, want %d as before", n, jobs)
	}
	if got := strings.Join(s.actions(t), " "); got != "create.started create create.started create" {
		t.Errorf("audit actions %q, want each upload's intent then its record", got)
	}
}

// A bad CM row, a DS record of an unknown subject, or one of a subject of
// a site the user may not write: every open stream ends and no service
// keeps anything.
func TestRefusedDispositionsOrConMedsStoreNothing(t *testing.T) {
	for _, c := range []struct {
		name  string
		sites []string
		files map[string]string
		dm    bool // DM stored before, by a user of both sites
	}{
		{"bad CM row", []string{"701", "702"}, map[string]string{"dm.csv": dm, "ds.csv": ds, "cm.csv": strings.Replace(cm, `"2010"`, `"20x0"`, 1)}, false},
		{"unknown subject", []string{"701", "702"}, map[string]string{"dm.csv": dm, "cm.csv": cm, "ds.csv": strings.Replace(ds, `"S1-003",1`, `"S1-009",1`, 1)}, false},
		{"another site's subject", []string{"701"}, map[string]string{"ds.csv": ds}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSplit(t)
			subjects := 0
			if c.dm {
				if _, err := s.upload(t, map[string]string{"dm.csv": dm}); err != nil {
					t.Fatal(err)
				}
				subjects = 3
			}
			_, err := s.uploadAs(t, c.sites, c.files)
			var errs sdtm.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want the bad records located", err)
			}
			if n := s.count(t, s.svcDB["subjects"], "subjects"); n != subjects {
				t.Errorf("%d subjects stored, want %d", n, subjects)
			}
			if n := s.count(t, s.svcDB["subjects"], "dispositions") + s.count(t, s.svcDB["exposure"], "con_meds"); n != 0 {
				t.Errorf("%d DS and CM records stored of a refused upload", n)
			}
		})
	}
}

// DM and DS both go to the subjects service, each in a write of its own
// open at the same time: neither holds the service's write turn between
// its chunks, so neither waits on the other. Here the service starts on
// DM's stream late, as a busy one may: the upload must still store both.
func TestDispositionsDoNotWaitOnTheSubjectsOwnWrite(t *testing.T) {
	s := newSplit(t)
	s.holdDM = 300 * time.Millisecond
	res, err := s.upload(t, map[string]string{"dm.csv": dm, "ds.csv": ds, "ex.csv": ex, "cm.csv": cm})
	if err != nil {
		t.Fatal(err)
	}
	if res.Domains["DM"].Inserted != 3 || res.Domains["DS"].Inserted != 4 || res.Domains["EX"].Inserted != 3 || res.Domains["CM"].Inserted != 3 {
		t.Errorf("result %+v; want every record stored", res.Domains)
	}
}
