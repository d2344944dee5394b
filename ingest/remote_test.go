package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
	alldb "github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/ingest/remote"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// fakeService stands in for a data service reached over Connect: its
// writes keep what they were sent until committed.
type fakeService struct {
	known        map[string]string // USUBJID → site
	fail         error             // every write fails with it
	failOnCommit error
	stored       int // records committed
	aborted      int // writes aborted
	onCommit     func()
	commitCtxErr error // what the context of the last Commit said
}

func (f *fakeService) Known(context.Context, string, []string) (map[string]string, error) {
	return f.known, nil
}

// fakeWrite is one write to a fakeService.
type fakeWrite[T any] struct {
	svc     *fakeService
	n       int
	ids     []string
	subject func(T) string
	done    bool
}

func (w *fakeWrite[T]) Write(_ context.Context, recs []T) error {
	if w.svc.fail != nil {
		return w.svc.fail
	}
	for _, r := range recs {
		w.ids = append(w.ids, w.subject(r))
	}
	w.n += len(recs)
	return nil
}

func (w *fakeWrite[T]) Commit(ctx context.Context) (clinical.Summary, error) {
	w.done = true
	w.svc.commitCtxErr = ctx.Err()
	if w.svc.onCommit != nil {
		w.svc.onCommit()
	}
	if ctx.Err() != nil {
		w.svc.aborted++
		return clinical.Summary{}, ctx.Err()
	}
	if w.svc.failOnCommit != nil {
		w.svc.aborted++
		return clinical.Summary{}, w.svc.failOnCommit
	}
	w.svc.stored += w.n
	var set ingest.SubjectSet
	set.Add(w.ids...)
	return clinical.Summary{Inserted: w.n, Subjects: set.List()}, nil
}

func (w *fakeWrite[T]) Abort() {
	if !w.done {
		w.done = true
		w.svc.aborted++
	}
}

type fakeSubjects struct{ *fakeService }

func (f fakeSubjects) WriteSubjects(context.Context, string, time.Time) (clinical.RecordWriter[clinical.Subject], error) {
	return &fakeWrite[clinical.Subject]{svc: f.fakeService, subject: func(s clinical.Subject) string { return s.USUBJID }}, nil
}

type fakeDoses struct{ *fakeService }

func (f fakeDoses) WriteDoses(context.Context, string, time.Time) (clinical.RecordWriter[clinical.Dose], error) {
	return &fakeWrite[clinical.Dose]{svc: f.fakeService, subject: func(d clinical.Dose) string { return d.USUBJID }}, nil
}

type fakeEvents struct{ *fakeService }

func (f fakeEvents) WriteEvents(context.Context, string, time.Time) (clinical.RecordWriter[clinical.AdverseEvent], error) {
	return &fakeWrite[clinical.AdverseEvent]{svc: f.fakeService, subject: func(e clinical.AdverseEvent) string { return e.USUBJID }}, nil
}

func remoteTarget(t *testing.T, subj *fakeService) (*remote.Target, *queue.Store) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	labStore, err := labs.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := queue.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	other := &fakeService{}
	return &remote.Target{Subjects: fakeSubjects{subj}, Exposure: fakeDoses{other}, Events: fakeEvents{other},
		DB: db, Labs: labStore, Queue: jobs}, jobs
}

func readCSV(t *testing.T, name, text string) *sdtm.Batch {
	var b sdtm.Batch
	if err := sdtm.Read(name, strings.NewReader(text), sdtm.CSV, "S1", &b); err != nil {
		t.Fatal(err)
	}
	return &b
}

// In split mode DM goes to the subjects service, LB to the checker's
// store, and every changed subject ends up queued.
func TestRemoteUpload(t *testing.T) {
	subj := &fakeService{}
	target, store := remoteTarget(t, subj)
	b := readCSV(t, "dm.csv", dm)
	b.Append(readCSV(t, "lb.csv", lb))
	res, err := ingest.Ingest(auth.WithSystem(context.Background()), target, "S1", b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if subj.stored != 2 || res.Domains["LB"].Inserted != 2 {
		t.Fatalf("stored %d subjects remotely and %+v labs locally; want 2 and 2", subj.stored, res.Domains["LB"])
	}
	if n, _ := store.QueueDepth(context.Background()); n != 2 {
		t.Errorf("%d checks queued, want 2", n)
	}
	// Queued again to run at once now the data is in: both due now.
	due, err := store.ClaimBatch(context.Background(), time.Now(), time.Minute, 10)
	if err != nil || len(due) != 2 {
		t.Errorf("claimed %d due checks (%v), want 2", len(due), err)
	}
}

// A data service failing its commit leaves what it was sent unstored,
// the error names the domain, and the checks of the subjects the upload
// named stay queued as a safety net, not due yet.
func TestRemoteUploadCommitFails(t *testing.T) {
	subj := &fakeService{failOnCommit: clinical.ErrUnavailable}
	target, store := remoteTarget(t, subj)
	b := readCSV(t, "dm.csv", dm)
	_, err := ingest.Ingest(auth.WithSystem(context.Background()), target, "S1", b, time.Now())
	if !errors.Is(err, clinical.ErrUnavailable) || !strings.Contains(err.Error(), "storing DM") {
		t.Fatalf("err = %v, want the unavailable subjects service named", err)
	}
	if subj.stored != 0 {
		t.Errorf("%d records stored", subj.stored)
	}
	if n, _ := store.QueueDepth(context.Background()); n != 2 {
		t.Errorf("%d checks queued, want 2 (the safety net)", n)
	}
	if due, _ := store.ClaimBatch(context.Background(), time.Now(), time.Minute, 10); len(due) != 0 {
		t.Errorf("%d safety-net checks due at once, want none before the safety net passes", len(due))
	}
}

// A data service that fails stores nothing there, and the error says which
// domain; the checks queued first are harmless re-checks.
func TestRemoteUploadServiceDown(t *testing.T) {
	subj := &fakeService{fail: clinical.ErrUnavailable}
	target, _ := remoteTarget(t, subj)
	_, err := ingest.Ingest(auth.WithSystem(context.Background()), target, "S1", readCSV(t, "dm.csv", dm), time.Now())
	if !errors.Is(err, clinical.ErrUnavailable) || !strings.Contains(err.Error(), "storing DM") {
		t.Fatalf("err = %v, want the unavailable subjects service named", err)
	}
}

// Labs of subjects the subjects service does not know are refused.
func TestRemoteUploadUnknownSubject(t *testing.T) {
	target, _ := remoteTarget(t, &fakeService{known: map[string]string{"S1-001": "01"}})
	_, err := ingest.Ingest(auth.WithSystem(context.Background()), target, "S1", readCSV(t, "lb.csv", lb), time.Now())
	var errs sdtm.Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "S1-002") || strings.Contains(err.Error(), "S1-001") {
		t.Fatalf("err = %v, want only S1-002 reported unknown", err)
	}
}

// To a user of site 02, a subject of site 01 is as unknown as one that
// does not exist: its labs are refused and nothing is stored.
func TestRemoteUploadOfAnotherSitesSubject(t *testing.T) {
	svc := &fakeService{known: map[string]string{"S1-001": "01", "S1-002": "02"}}
	target, _ := remoteTarget(t, svc)
	ctx := auth.NewContext(context.Background(), auth.Identity{Name: "site02", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "02"}}})
	_, err := ingest.Ingest(ctx, target, "S1", readCSV(t, "lb.csv", lb), time.Now())
	var errs sdtm.Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "S1-001") || strings.Contains(err.Error(), "S1-002") {
		t.Fatalf("err = %v, want only S1-001 (site 01) reported unknown", err)
	}
	_, err = ingest.Ingest(ctx, target, "S1", readCSV(t, "dm.csv", dm), time.Now())
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "SITEID") || !strings.Contains(err.Error(), "site02 may upload data of site(s) 02 only") {
		t.Fatalf("DM of another site: err = %v, want the SITEID rows refused", err)
	}
	if svc.stored != 0 {
		t.Errorf("%d records stored from refused uploads", svc.stored)
	}
	if n, _ := target.Queue.QueueDepth(context.Background()); n != 0 {
		t.Errorf("%d checks queued by refused uploads", n)
	}
}

// A site user cannot take another site's subject: a DM row that names it
// with the user's own SITEID is refused, on the whole-batch path and the
// streaming one, and nothing is stored. (Before, it answered "updated": 1,
// moved the subject to the user's site and showed its findings.)
func TestUploadCannotMoveAnotherSitesSubject(t *testing.T) {
	const takeover = `"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFICDTC","RFXSTDTC"
"S1","DM","S1-001","02","F",63,"2014-01-01","2014-01-02"
"S1","DM","S1-003","02","M",70,"2014-01-01","2014-01-03"
`
	ctx := auth.NewContext(context.Background(), auth.Identity{Name: "site02", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S1", Site: "02"}}})
	svc := &fakeService{known: map[string]string{"S1-001": "01"}}
	target, _ := remoteTarget(t, svc)
	_, err := ingest.Ingest(ctx, target, "S1", readCSV(t, "dm.csv", takeover), time.Now())
	var errs sdtm.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(err.Error(), `dm.csv:2: column USUBJID: subject "S1-001" cannot be written`) {
		t.Fatalf("Ingest: err = %v, want S1-001's row refused", err)
	}
	if _, err := ingest.IngestFiles(ctx, target, "S1", []ingest.File{memFile("dm.csv", takeover)}, 10, time.Now()); !errors.As(err, &errs) ||
		!strings.Contains(err.Error(), `subject "S1-001" cannot be written`) {
		t.Fatalf("IngestFiles: err = %v, want S1-001's row refused", err)
	}
	if svc.stored != 0 {
		t.Errorf("%d records stored from refused uploads", svc.stored)
	}
}

// Without an identity nothing is stored, by either path: nobody known is
// not everybody. (`trialwatch import` acts as auth.WithSystem.)
func TestIngestRefusesWithoutAnIdentity(t *testing.T) {
	svc := &fakeService{}
	target, store := remoteTarget(t, svc)
	if _, err := ingest.Ingest(context.Background(), target, "S1", readCSV(t, "dm.csv", dm), time.Now()); !errors.Is(err, auth.ErrNoIdentity) {
		t.Errorf("Ingest without an identity: %v, want auth.ErrNoIdentity", err)
	}
	if n, _ := store.QueueDepth(context.Background()); svc.stored != 0 || n != 0 {
		t.Errorf("Ingest without an identity stored %d subjects and queued %d checks", svc.stored, n)
	}
	db := sqldbtest.SQLite(t)
	local, err := alldb.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.IngestFiles(context.Background(), local, "S1", []ingest.File{memFile("dm.csv", dm)}, 10, time.Now()); !errors.Is(err, auth.ErrNoIdentity) {
		t.Errorf("IngestFiles without an identity: %v, want auth.ErrNoIdentity", err)
	}
	if n := count(t, db, "subjects"); n != 0 {
		t.Errorf("IngestFiles without an identity stored %d subjects", n)
	}
}

// Once the lab results and the checks are committed, the data services
// commit even if the client has gone meanwhile: its leaving must not
// leave the upload half stored.
func TestRemoteUploadCommitsAfterTheClientLeaves(t *testing.T) {
	subj := &fakeService{}
	target, _ := remoteTarget(t, subj)
	doses := target.Exposure.(fakeDoses).fakeService
	ctx, cancel := context.WithCancel(auth.WithSystem(context.Background()))
	defer cancel()
	subj.onCommit = cancel // the client leaves as the first service commits
	b := readCSV(t, "dm.csv", dm)
	b.Append(readCSV(t, "ex.csv", ex))
	if _, err := ingest.Ingest(ctx, target, "S1", b, time.Now()); err != nil {
		t.Fatal(err)
	}
	if doses.commitCtxErr != nil || doses.stored != 2 || subj.stored != 2 {
		t.Errorf("after the client left: EX commit saw %v, %d doses and %d subjects stored; want both stored", doses.commitCtxErr, doses.stored, subj.stored)
	}
}

const ex = `"STUDYID","DOMAIN","USUBJID","EXSEQ","EXTRT","EXDOSE","EXDOSU","EXROUTE","EXSTDTC","EXENDTC"
"S1","EX","S1-001",1,"DRUG",54,"mg","TRANSDERMAL","2014-01-02","2014-02-02"
"S1","EX","S1-002",1,"DRUG",54,"mg","TRANSDERMAL","2014-01-03","2014-02-03"
`
