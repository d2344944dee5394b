// Package exposure is the drug-exposure service: it owns the doses table
// (SDTM EX) and the con_meds table of concomitant medications (SDTM CM).
package exposure

import (
	"context"
	"database/sql"
	"embed"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/internal/staged"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

//go:embed migrations
var migrations embed.FS

// Store keeps dose records in SQL.
type Store struct {
	db    *sqldb.DB
	stage *staged.Area // where uploads stage their EX and CM rows
}

// Open applies the service's migrations and returns its store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "exposure_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db, stage: staged.NewArea(db)}, nil
}

// doseCols are the columns scanDose reads, after the key.
const doseCols = `seq, treatment, dose, unit, route, start_date, end_date`

func scanDose(rows *sql.Rows, d *clinical.Dose, key ...any) error {
	var dose sql.NullFloat64
	if err := rows.Scan(append(key, &d.Seq, &d.Treatment, &dose, &d.Unit, &d.Route, &d.Start, &d.End)...); err != nil {
		return err
	}
	d.Dose, d.HasDose = dose.Float64, dose.Valid
	return nil
}

// Doses returns a subject's dose records ordered by EXSEQ; none is not an error.
func (s *Store) Doses(ctx context.Context, study, usubjid string) ([]clinical.Dose, error) {
	rows, err := s.db.QueryCached(ctx, nil, `SELECT `+doseCols+`
		FROM doses WHERE study = $1 AND usubjid = $2 ORDER BY seq`, study, usubjid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []clinical.Dose
	for rows.Next() {
		d := clinical.Dose{Study: study, USUBJID: usubjid}
		if err := scanDose(rows, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DosesOf returns the dose records of the subjects among usubjids that
// have any, each subject's ordered by EXSEQ, in one query.
func (s *Store) DosesOf(ctx context.Context, study string, usubjids []string) (map[string][]clinical.Dose, error) {
	out := make(map[string][]clinical.Dose, len(usubjids))
	err := s.db.QueryKeys(ctx, `SELECT usubjid, `+doseCols+` FROM doses WHERE study = $1 AND usubjid IN (`, `) ORDER BY usubjid, seq`,
		[]any{study}, usubjids, func(rows *sql.Rows) error {
			d := clinical.Dose{Study: study}
			if err := scanDose(rows, &d, &d.USUBJID); err != nil {
				return err
			}
			out[d.USUBJID] = append(out[d.USUBJID], d)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ clinical.ExposureBatchSource = (*Store)(nil)

var table = tracked.Table{
	Name:    "doses",
	Cols:    []string{"study", "usubjid", "seq", "treatment", "dose", "unit", "route", "start_date", "end_date"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "doses_history",
}

func rows(doses []clinical.Dose) [][]any {
	out := make([][]any, len(doses))
	for i, d := range doses {
		out[i] = []any{d.Study, d.USUBJID, d.Seq, d.Treatment, sqldb.NullFloat(d.Dose, d.HasDose), d.Unit, d.Route, string(d.Start), string(d.End)}
	}
	return out
}

// Put stores one study's dose records, all or nothing. Unchanged rows are
// left alone; changed ones are updated and recorded in doses_history.
func (s *Store) Put(ctx context.Context, study string, doses []clinical.Dose, now time.Time) (clinical.Summary, error) {
	return staged.Put(ctx, s.stage, stagedDoses, study, now, rows, doses)
}

// WriteDoses begins a write of one study's dose records sent in chunks:
// each chunk is staged out of readers' sight in a short transaction of
// its own, and Commit makes them all visible in one (see internal/staged),
// so the process's other writes go on meanwhile; nothing is kept unless
// Commit succeeds.
func (s *Store) WriteDoses(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[clinical.Dose], error) {
	return staged.Begin(ctx, s.stage, stagedDoses, study, now, rows)
}

// StageDoses begins staging one study's dose records for an upload that
// publishes them in a transaction of its own (staged.Writer.PublishTx);
// the caller must Close it.
func (s *Store) StageDoses(ctx context.Context, study string, now time.Time) *staged.Writer[clinical.Dose] {
	return staged.Open(ctx, s.stage, stagedDoses, study, now, rows)
}

// stagedDoses is table, a view over generations of each subject's rows
// (see internal/staged).
var stagedDoses = staged.Table{Table: table, Generational: true}

var _ clinical.DoseWriter = (*Store)(nil)

var conMedTable = tracked.Table{
	Name:    "con_meds",
	Cols:    []string{"study", "usubjid", "seq", "term", "decoded_term", "start_date", "end_date"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "con_meds_history",
}

func conMedRows(cms []clinical.ConMed) [][]any {
	out := make([][]any, len(cms))
	for i, c := range cms {
		out[i] = []any{c.Study, c.USUBJID, int64(c.Seq), c.Term, c.Decoded, string(c.Start), string(c.End)}
	}
	return out
}

// PutConMeds stores concomitant medications of one study, all or
// nothing. Unchanged rows are left alone; changed ones are updated and
// recorded in con_meds_history.
func (s *Store) PutConMeds(ctx context.Context, study string, cms []clinical.ConMed, now time.Time) (clinical.Summary, error) {
	return staged.Put(ctx, s.stage, stagedConMeds, study, now, conMedRows, cms)
}

// WriteConMeds begins a write of one study's concomitant medications sent
// in chunks, staged as WriteDoses does.
func (s *Store) WriteConMeds(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[clinical.ConMed], error) {
	return staged.Begin(ctx, s.stage, stagedConMeds, study, now, conMedRows)
}

// StageConMeds is StageDoses for concomitant medications.
func (s *Store) StageConMeds(ctx context.Context, study string, now time.Time) *staged.Writer[clinical.ConMed] {
	return staged.Open(ctx, s.stage, stagedConMeds, study, now, conMedRows)
}

// stagedConMeds is conMedTable, a view over generations of each
// subject's rows.
var stagedConMeds = staged.Table{Table: conMedTable, Generational: true}

var _ clinical.ConMedWriter = (*Store)(nil)
