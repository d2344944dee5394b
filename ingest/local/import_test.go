package local_test

import (
	"io"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

const dm = `"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFICDTC","RFXSTDTC"
"S1","DM","S1-001","701","F",63,"2014-01-01","2014-01-02"
"S1","DM","S1-002","702","M",70,"2014-01-01","2014-01-03"
`

// An import stores the files as one upload, with one audit record naming
// the operator; a failed one stores neither.
func TestImportIsAnAuditedUpload(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		file := func(content string) []ingest.File {
			return []ingest.File{{Name: "dm.csv", Format: sdtm.CSV, Domain: "DM",
				Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}}
		}
		res, err := local.Import(t.Context(), db, "S1", file(dm), ingest.DefaultChunk, "cli:jane", "cli")
		if err != nil {
			t.Fatal(err)
		}
		if res.Domains["DM"].Inserted != 2 || res.Queued != 2 {
			t.Errorf("result %+v, want 2 subjects stored and their checks queued", res)
		}
		if _, err := local.Import(t.Context(), db, "S1", file(dm+`"S1","DM","S1-003","703","X","old"`+"\n"), ingest.DefaultChunk, "cli:jane", "cli"); err == nil {
			t.Error("an import with a bad row succeeded")
		}
		trail, err := audit.Open(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := trail.Query(t.Context(), audit.Filter{Study: "S1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].Actor != "cli:jane" || recs[0].Source != "cli" || recs[0].Entity != "upload" || recs[0].Action != "import" {
			t.Errorf("audit records %+v, want one import by cli:jane from cli", recs)
		}
	})
}
