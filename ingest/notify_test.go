package ingest_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	alldb "github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// Notify tells of the uploads that stored something, not of those that
// failed.
func TestNotifyAfterStoredUploads(t *testing.T) {
	ctx := auth.WithSystem(context.Background())
	target, err := alldb.Open(ctx, sqldbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	var told []string
	notifying := ingest.Notify(target, func(study string) { told = append(told, study) })
	upload := func(content string) error {
		files := []ingest.File{{Name: "dm.csv", Format: sdtm.CSV, Domain: "DM",
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}}
		_, err := ingest.IngestFiles(ctx, notifying, "S1", files, ingest.DefaultChunk, time.Now())
		return err
	}
	if err := upload(dm); err != nil {
		t.Fatal(err)
	}
	if err := upload(dm + `"S1","DM","S1-003","703","X","old"` + "\n"); err == nil {
		t.Fatal("an upload with a bad row succeeded")
	}
	if len(told) != 1 || told[0] != "S1" {
		t.Errorf("told %q, want S1 once: the failed upload stored nothing", told)
	}
}
