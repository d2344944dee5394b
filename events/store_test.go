package events

import (
	"context"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStore(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := []clinical.AdverseEvent{
			{Study: "S1", USUBJID: "A", Seq: 1, Term: "APPLICATION SITE ERYTHEMA", Decoded: "APPLICATION SITE ERYTHEMA", Severity: "MILD", Start: "2014-01-03"},
			{Study: "S1", USUBJID: "A", Seq: 2, Term: "SYNCOPE", Decoded: "SYNCOPE", Severity: "SEVERE", Serious: true, Start: "2014-02", Recorded: "2014-02-20"},
		}
		if _, err := s.Put(ctx, "S1", want, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.AdverseEvents(ctx, "S1", "A")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("AdverseEvents = %+v, %v; want %+v", got, err, want)
		}
	})
}
