package local_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// On PostgreSQL an upload's chunks commit without waiting for the disk,
// on one connection kept for the upload: a crash of the server may lose
// them, and ends every connection, the upload's among them. An upload
// whose connection is gone when it publishes (here ended by the test, as
// a restart ends it) fails rather than publish what may be partial, and
// stores nothing.
func TestUploadNotPublishedOnceItsStagingConnectionIsGone(t *testing.T) {
	ctx := context.Background()
	app := "upload-lost-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	db, err := sqldb.Open(ctx, sqldbtest.PostgresDSN(t)+"&application_name="+app)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	target, err := local.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	subjects := []clinical.Subject{{Study: "S1", USUBJID: "S1-001", Site: "701", Sex: "F", Age: 63}}
	_, err = target.Store(ctx, "S1", []string{"dm.csv"}, time.Now(), func(u ingest.Upload) error {
		if err := u.Write(ctx, ingest.Part{Subjects: subjects}); err != nil {
			return err
		}
		// Every idle connection of this test's, the upload's among them;
		// the pool replaces the others when next used.
		_, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
			WHERE application_name = $1 AND pid <> pg_backend_pid() AND state = 'idle'`, app)
		return err
	})
	if !errors.Is(err, sqldb.ErrSessionLost) {
		t.Fatalf("publishing once the upload's connection is gone: %v, want ErrSessionLost", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM subjects) + (SELECT COUNT(*) FROM check_jobs)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d subjects and checks stored by the failed upload", n)
	}
}
