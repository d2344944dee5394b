package checker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

type hysSubject struct{ fixedLatency }

func (hysSubject) Subject(_ context.Context, st, id string) (clinical.Subject, error) {
	return clinical.Subject{Study: st, USUBJID: id, Site: "701", FirstDose: "2014-01-02"}, nil
}

// A check keeps the subject's eDISH point, served per study and site, and
// the study's settings choose the CTCAE version.
func TestSettingsAndEDISH(t *testing.T) {
	ctx := context.Background()
	store, err := checker.OpenStore(ctx, sqldbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	labs := []clinical.LabResult{
		{Study: study, USUBJID: subjectID, Seq: 1, TestCode: "ALT", Value: 160, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-02-01"},
		{Study: study, USUBJID: subjectID, Seq: 2, TestCode: "BILI", Value: 60, HasValue: true, Unit: "umol/L", High: 20, HasHigh: true, Date: "2014-02-01"},
		{Study: study, USUBJID: subjectID, Seq: 3, TestCode: "ALP", Value: 100, HasValue: true, Unit: "U/L", High: 120, HasHigh: true, Date: "2014-02-01"},
	}
	if _, err := store.PutLabs(ctx, study, labs, time.Now()); err != nil {
		t.Fatal(err)
	}
	up := hysSubject{}
	c := checker.New(checker.Sources{Subjects: up, Exposure: up, Events: up}, store, store, checker.WithStudyData(store))
	mux := http.NewServeMux()
	checker.NewAPI(c, store, nil).Register(mux)
	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewBufferString(body)))
		return rec
	}
	base := "/api/v1/studies/" + study
	if rec := do(http.MethodGet, base+"/settings", ""); !bytes.Contains(rec.Body.Bytes(), []byte(string(ctcae.V50))) {
		t.Errorf("default settings: %s; want CTCAE v5.0", rec.Body)
	}
	if rec := do(http.MethodPut, base+"/settings", `{"ctcae":"ctcae-v9"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown CTCAE version: %d, want 400", rec.Code)
	}
	if rec := do(http.MethodPut, base+"/settings", `{"ctcae":"ctcae-v4.03","ae_terms":{"ALT":["LIVER INJURY"]}}`); rec.Code != http.StatusOK {
		t.Fatalf("put settings: %d %s", rec.Code, rec.Body)
	}
	if cfg, _ := store.Settings(ctx, study); cfg.Criteria != ctcae.V403 || cfg.AETerms["ALT"][0] != "LIVER INJURY" {
		t.Errorf("stored settings %+v", cfg)
	}

	if rec := do(http.MethodPost, base+"/subjects/"+subjectID+"/checks", ""); rec.Code != http.StatusOK ||
		!bytes.Contains(rec.Body.Bytes(), []byte("HYS_LAW")) {
		t.Fatalf("check of a Hy's law case: %d %s", rec.Code, rec.Body)
	}
	rec := do(http.MethodGet, base+"/edish?site=701", "")
	var got struct {
		Subjects []struct {
			Subject   string  `json:"subject"`
			ALT       float64 `json:"alt_xuln"`
			Bilirubin float64 `json:"bilirubin_xuln"`
			Quadrant  string  `json:"quadrant"`
		} `json:"subjects"`
	}
	json.Unmarshal(rec.Body.Bytes(), &got)
	if len(got.Subjects) != 1 || got.Subjects[0].ALT != 4 || got.Subjects[0].Bilirubin != 3 || got.Subjects[0].Quadrant != "hys-law" {
		t.Errorf("eDISH: %s; want the subject at ALT 4×ULN, bilirubin 3×ULN in the Hy's law quadrant", rec.Body)
	}
	if rec := do(http.MethodGet, base+"/edish?site=702", ""); bytes.Contains(rec.Body.Bytes(), []byte(subjectID)) {
		t.Errorf("eDISH of site 702 lists a 701 subject: %s", rec.Body)
	}
}
