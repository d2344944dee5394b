package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// fakeService stands in for a data service reached over Connect.
type fakeService struct {
	known  map[string]string // USUBJID → site
	fail   error
	stored int
}

func (f *fakeService) Known(context.Context, string, []string) (map[string]string, error) {
	return f.known, nil
}

func (f *fakeService) summary(n int, ids []string) (clinical.Summary, error) {
	if f.fail != nil {
		return clinical.Summary{}, f.fail
	}
	f.stored += n
	return clinical.Summary{Inserted: n, Subjects: ids}, nil
}

type fakeSubjects struct{ *fakeService }

func (f fakeSubjects) Put(_ context.Context, _ string, subs []clinical.Subject, _ time.Time) (clinical.Summary, error) {
	var ids []string
	for _, s := range subs {
		ids = append(ids, s.USUBJID)
	}
	return f.summary(len(subs), ids)
}

type fakeDoses struct{ *fakeService }

func (f fakeDoses) Put(_ context.Context, _ string, d []clinical.Dose, _ time.Time) (clinical.Summary, error) {
	return f.summary(len(d), nil)
}

type fakeEvents struct{ *fakeService }

func (f fakeEvents) Put(_ context.Context, _ string, e []clinical.AdverseEvent, _ time.Time) (clinical.Summary, error) {
	return f.summary(len(e), nil)
}

func remoteTarget(t *testing.T, subj *fakeService) (ingest.Remote, *checker.Store) {
	store, err := checker.OpenStore(context.Background(), sqldbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	other := &fakeService{}
	return ingest.Remote{Subjects: fakeSubjects{subj}, Exposure: fakeDoses{other}, Events: fakeEvents{other}, Checker: store}, store
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
	local, err := ingest.OpenLocal(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.IngestFiles(context.Background(), "S1", []ingest.File{memFile("dm.csv", dm)}, 10, time.Now()); !errors.Is(err, auth.ErrNoIdentity) {
		t.Errorf("IngestFiles without an identity: %v, want auth.ErrNoIdentity", err)
	}
	if n := count(t, db, "subjects"); n != 0 {
		t.Errorf("IngestFiles without an identity stored %d subjects", n)
	}
}
