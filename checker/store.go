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

var labTable = sqldb.Table{
	Name:    "lab_results",
	Cols:    []string{"study", "usubjid", "seq", "test_code", "test", "category", "value", "unit", "low", "high", "baseline", "lab_date", "visit"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "lab_results_history",
}

func labRows(labs []clinical.LabResult) [][]any {
	out := make([][]any, len(labs))
	for i, r := range labs {
		out[i] = []any{r.Study, r.USUBJID, r.Seq, r.TestCode, r.Test, r.Category,
			sqldb.NullFloat(r.Value, r.HasValue), r.Unit, sqldb.NullFloat(r.Low, r.HasLow), sqldb.NullFloat(r.High, r.HasHigh),
			r.Baseline, string(r.Date), r.Visit}
	}
	return out
}

// InTx runs fn in a transaction on the checker's database.
func (s *Store) InTx(ctx context.Context, fn func(*sql.Tx) error) error { return s.db.InTx(ctx, fn) }

// PutLabs stores one study's lab results, all or nothing. Unchanged rows
// are left alone; changed ones are updated and recorded in
// lab_results_history.
func (s *Store) PutLabs(ctx context.Context, study string, labs []clinical.LabResult, now time.Time) (sqldb.Summary, error) {
	return s.db.PutTracked(ctx, labTable, study, labRows(labs), now)
}

// PutLabsTx is PutLabs within the caller's transaction.
func (s *Store) PutLabsTx(ctx context.Context, tx *sql.Tx, study string, labs []clinical.LabResult, now time.Time) (sqldb.Summary, error) {
	return s.db.PutTrackedTx(ctx, tx, labTable, study, labRows(labs), now)
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
	if len(sigs) == 0 {
		return nil
	}
	// One row per distinct (study, subject, rule, evidence key), at the
	// place of its first signal, with the values of its last: what storing
	// the signals one by one would leave.
	type key struct{ study, usubjid, rule, evidence string }
	const ncols = 9
	first := make(map[key]int, len(sigs)) // key → index in rows
	slot := make([]int, len(sigs))        // signal → index in rows
	var rows [][ncols]any
	for i := range sigs {
		sg := &sigs[i]
		ev, err := json.Marshal(sg.Evidence)
		if err != nil {
			return fmt.Errorf("signal %s %s: evidence: %w", sg.Rule, sg.Key, err)
		}
		k := key{sg.Study, sg.USUBJID, string(sg.Rule), sg.Key}
		j, dup := first[k]
		if !dup {
			j = len(rows)
			first[k] = j
			rows = append(rows, [ncols]any{})
		}
		slot[i] = j
		rows[j] = [ncols]any{sg.Study, sg.Site, sg.USUBJID, string(sg.Rule), int(sg.Severity), sg.Key,
			string(ev), sg.Message, now.UnixMilli()}
	}
	type stored struct {
		id      int64
		created time.Time
		status  clinical.SignalStatus
	}
	got := make([]stored, len(rows))
	per := s.db.Dialect.RowsPerStatement(ncols)
	// One statement is atomic by itself: a transaction is needed only
	// around several, and without one SQLite holds its write lock for the
	// statement alone.
	var query func(q string, args ...any) (*sql.Rows, error)
	save := func() error {
		args := make([]any, 0, min(len(rows), per)*ncols)
		for start := 0; start < len(rows); start += per {
			chunk := rows[start:min(start+per, len(rows))]
			args = args[:0]
			for i := range chunk {
				args = append(args, chunk[i][:]...)
			}
			q := `INSERT INTO signals
			(study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at)
			VALUES ` + s.db.Dialect.Values(ncols, len(chunk)) + `
			ON CONFLICT (study, usubjid, rule, evidence_key) DO UPDATE SET
				site = excluded.site, severity = excluded.severity, evidence = excluded.evidence, message = excluded.message
			RETURNING id, created_at, status, study, usubjid, rule, evidence_key`
			rs, err := query(q, args...)
			if err != nil {
				return err
			}
			// RETURNING gives the rows in no promised order: match them by key.
			n := 0
			for rs.Next() {
				var st stored
				var created int64
				var k key
				if err := rs.Scan(&st.id, &created, &st.status, &k.study, &k.usubjid, &k.rule, &k.evidence); err != nil {
					rs.Close()
					return err
				}
				j, ok := first[k]
				if !ok || j < start || j >= start+len(chunk) {
					rs.Close()
					return fmt.Errorf("storing signals: the database returned a signal not written: %s %s %s", k.usubjid, k.rule, k.evidence)
				}
				st.created = time.UnixMilli(created).UTC()
				got[j] = st
				n++
			}
			if err := rs.Err(); err != nil {
				rs.Close()
				return err
			}
			if err := rs.Close(); err != nil {
				return err
			}
			if n != len(chunk) {
				return fmt.Errorf("storing signals: wrote %d, the database returned %d", len(chunk), n)
			}
		}
		return nil
	}
	var err error
	if len(rows) <= per {
		query = func(q string, args ...any) (*sql.Rows, error) { return s.db.QueryContext(ctx, q, args...) }
		err = save()
	} else {
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			query = func(q string, args ...any) (*sql.Rows, error) { return tx.QueryContext(ctx, q, args...) }
			return save()
		})
	}
	if err != nil {
		return err
	}
	for i := range sigs {
		st := got[slot[i]]
		sigs[i].ID, sigs[i].Created, sigs[i].Status = st.id, st.created, st.status
	}
	return nil
}

// SignalFilter selects signals of one study.
type SignalFilter struct {
	Study       string
	Site        string // empty: all sites
	USUBJID     string // empty: all subjects
	MinSeverity clinical.Severity
	Status      clinical.SignalStatus // empty: any
	Limit       int                   // page size
	BeforeID    int64                 // paging: only IDs below this; 0 for the first page
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
	if f.Status != "" {
		add("status =", string(f.Status))
	}
	if f.BeforeID > 0 {
		add("id <", f.BeforeID)
	}
	args = append(args, f.Limit+1) // one extra row tells whether a next page exists
	q := `SELECT ` + signalCols + ` FROM signals WHERE ` +
		strings.Join(where, " AND ") + " ORDER BY id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		sg, err := scanSignal(rows, f.Study)
		if err != nil {
			return nil, 0, err
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

const signalCols = "id, site, usubjid, rule, severity, evidence_key, evidence, message, created_at, status, status_reason, updated_at"

// scanSignal reads one row selected with signalCols.
func scanSignal(row interface{ Scan(...any) error }, study string) (clinical.Signal, error) {
	sg := clinical.Signal{Study: study}
	var sev int
	var ev string
	var created, updated int64
	if err := row.Scan(&sg.ID, &sg.Site, &sg.USUBJID, &sg.Rule, &sev, &sg.Key, &ev, &sg.Message, &created,
		&sg.Status, &sg.Reason, &updated); err != nil {
		return sg, err
	}
	sg.Severity = clinical.Severity(sev)
	sg.Created = time.UnixMilli(created).UTC()
	if updated > 0 {
		sg.Updated = time.UnixMilli(updated).UTC()
	}
	if err := json.Unmarshal([]byte(ev), &sg.Evidence); err != nil {
		return sg, fmt.Errorf("signal %d: stored evidence is not JSON: %w", sg.ID, err)
	}
	return sg, nil
}
