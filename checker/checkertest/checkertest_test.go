package checkertest_test

import (
	"context"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStoreFindings checks the findings are stored in order, their IDs
// following it, with the statuses given.
func TestStoreFindings(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s := checkertest.Open(t, db)
		sigs := s.StoreFindings(t, db, checkertest.Findings)
		if len(sigs) != len(checkertest.Findings) {
			t.Fatalf("%d signals stored, want %d", len(sigs), len(checkertest.Findings))
		}
		for i, f := range checkertest.Findings {
			if i > 0 && sigs[i].ID <= sigs[i-1].ID {
				t.Errorf("signal %d has ID %d, not after %d", i, sigs[i].ID, sigs[i-1].ID)
			}
			var status string
			if err := db.QueryRowContext(context.Background(), `SELECT status FROM signals WHERE id = $1`, sigs[i].ID).Scan(&status); err != nil {
				t.Fatal(err)
			}
			if want := string(f.Status); status != want || sigs[i].USUBJID != f.Subject || sigs[i].Rule != f.Rule {
				t.Errorf("signal %d: stored status %q, subject %s, rule %s; want %q, %s, %s", i, status, sigs[i].USUBJID, sigs[i].Rule, want, f.Subject, f.Rule)
			}
		}
	})
}

// TestAs checks a handler served through As sees the identity.
func TestAs(t *testing.T) {
	var got auth.Identity
	var ok bool
	h := checkertest.As(checkertest.SiteUser("s1", "S", "701", "702"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = auth.FromContext(r.Context())
	}))
	if rec := checkertest.Call(h, "GET", "/x", ""); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if !ok || got.Name != "s1" || got.Role != auth.RoleSite || len(got.Grants) != 2 || got.Grants[1] != (auth.Grant{Study: "S", Site: "702"}) {
		t.Errorf("the handler saw %+v (%v), want site user s1 of sites 701 and 702", got, ok)
	}
	if rec := checkertest.Call(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok = auth.FromContext(r.Context())
	}), "GET", "/x", ""); ok || rec.Code != http.StatusOK {
		t.Errorf("a handler not served through As sees an identity")
	}
}

// TestUpstream checks the upstream answers the subject at its site, first
// dosed when it says, with no doses or events.
func TestUpstream(t *testing.T) {
	src := checkertest.Upstream{Site: "701", FirstDose: "2014-01-02"}.Sources()
	ctx := context.Background()
	subj, err := src.Subjects.Subject(ctx, "S", "A")
	if err != nil || subj != (clinical.Subject{Study: "S", USUBJID: "A", Site: "701", FirstDose: "2014-01-02"}) {
		t.Errorf("Subject = %+v, %v", subj, err)
	}
	doses, err := src.Exposure.Doses(ctx, "S", "A")
	if err != nil || len(doses) != 0 {
		t.Errorf("Doses = %v, %v; want none", doses, err)
	}
	aes, err := src.Events.AdverseEvents(ctx, "S", "A")
	if err != nil || len(aes) != 0 {
		t.Errorf("AdverseEvents = %v, %v; want none", aes, err)
	}
}
