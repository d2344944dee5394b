package checker

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store keeps what the checker owns: lab results and the signals raised.
type Store struct{ db *sqldb.DB }

// OpenStore applies the checker's migrations and returns its store.
func OpenStore(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "checker_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// PutLabs stores lab results, replacing those already there; all or nothing.
func (s *Store) PutLabs(ctx context.Context, labs []clinical.LabResult) error {
	rows := make([][]any, len(labs))
	for i, r := range labs {
		rows[i] = []any{r.Study, r.USUBJID, r.Seq, r.TestCode, r.Test, r.Category,
			sqldb.NullFloat(r.Value, r.HasValue), r.Unit, sqldb.NullFloat(r.Low, r.HasLow), sqldb.NullFloat(r.High, r.HasHigh),
			r.Baseline, string(r.Date), r.Visit}
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.db.Upsert(ctx, tx, "lab_results",
			[]string{"study", "usubjid", "seq", "test_code", "test", "category", "value", "unit", "low", "high", "baseline", "lab_date", "visit"},
			[]string{"study", "usubjid", "seq"}, rows)
	})
}

// Labs returns a subject's lab results ordered by date then LBSEQ.
func (s *Store) Labs(ctx context.Context, study, usubjid string) ([]clinical.LabResult, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, test_code, test, category, value, unit, low, high, baseline, lab_date, visit
		FROM lab_results WHERE study = $1 AND usubjid = $2 ORDER BY lab_date, seq`, study, usubjid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []clinical.LabResult
	for rows.Next() {
		r := clinical.LabResult{Study: study, USUBJID: usubjid}
		var value, low, high sql.NullFloat64
		if err := rows.Scan(&r.Seq, &r.TestCode, &r.Test, &r.Category, &value, &r.Unit, &low, &high, &r.Baseline, &r.Date, &r.Visit); err != nil {
			return nil, err
		}
		r.Value, r.HasValue = value.Float64, value.Valid
		r.Low, r.HasLow = low.Float64, low.Valid
		r.High, r.HasHigh = high.Float64, high.Valid
		out = append(out, r)
	}
	return out, rows.Err()
}

// SaveSignals stores signals and fills in their ID and creation time. A
// signal already raised for the same study, subject, rule and evidence key
// keeps its ID and creation time; its severity, evidence and message are
// refreshed, so re-checking never raises a duplicate.
func (s *Store) SaveSignals(ctx context.Context, sigs []clinical.Signal, now time.Time) error {
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO signals
			(study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (study, usubjid, rule, evidence_key) DO UPDATE SET
				site = excluded.site, severity = excluded.severity, evidence = excluded.evidence, message = excluded.message
			RETURNING id, created_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range sigs {
			sg := &sigs[i]
			ev, err := json.Marshal(sg.Evidence)
			if err != nil {
				return fmt.Errorf("signal %s %s: evidence: %w", sg.Rule, sg.Key, err)
			}
			var created int64
			if err := stmt.QueryRowContext(ctx, sg.Study, sg.Site, sg.USUBJID, string(sg.Rule), int(sg.Severity), sg.Key,
				string(ev), sg.Message, now.UnixMilli()).Scan(&sg.ID, &created); err != nil {
				return err
			}
			sg.Created = time.UnixMilli(created).UTC()
		}
		return nil
	})
}

// SignalFilter selects signals of one study.
type SignalFilter struct {
	Study       string
	Site        string // empty: all sites
	USUBJID     string // empty: all subjects
	MinSeverity clinical.Severity
	Limit       int   // page size
	BeforeID    int64 // paging: only IDs below this; 0 for the first page
}

// Signals lists signals newest first. next is the BeforeID of the following
// page, or 0 when this page is the last.
func (s *Store) Signals(ctx context.Context, f SignalFilter) (sigs []clinical.Signal, next int64, err error) {
	where := []string{"study = $1", "severity >= $2"}
	args := []any{f.Study, int(f.MinSeverity)}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Site != "" {
		add("site =", f.Site)
	}
	if f.USUBJID != "" {
		add("usubjid =", f.USUBJID)
	}
	if f.BeforeID > 0 {
		add("id <", f.BeforeID)
	}
	args = append(args, f.Limit+1) // one extra row tells whether a next page exists
	q := `SELECT id, site, usubjid, rule, severity, evidence_key, evidence, message, created_at FROM signals WHERE ` +
		strings.Join(where, " AND ") + " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		sg := clinical.Signal{Study: f.Study}
		var sev int
		var ev string
		var created int64
		if err := rows.Scan(&sg.ID, &sg.Site, &sg.USUBJID, &sg.Rule, &sev, &sg.Key, &ev, &sg.Message, &created); err != nil {
			return nil, 0, err
		}
		sg.Severity = clinical.Severity(sev)
		sg.Created = time.UnixMilli(created).UTC()
		if err := json.Unmarshal([]byte(ev), &sg.Evidence); err != nil {
			return nil, 0, fmt.Errorf("signal %d: stored evidence is not JSON: %w", sg.ID, err)
		}
		sigs = append(sigs, sg)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(sigs) > f.Limit {
		sigs = sigs[:f.Limit]
		next = sigs[len(sigs)-1].ID
	}
	return sigs, next, nil
}
