// Package events is the adverse-event history service: it owns the
// adverse_events table (SDTM AE).
package events

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"slices"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/internal/staged"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

//go:embed migrations
var migrations embed.FS

// Store keeps adverse events in SQL.
type Store struct {
	db    *sqldb.DB
	stage *staged.Area // where uploads stage their AE rows
}

// Open applies the service's migrations and returns its store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "events_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db, stage: staged.NewArea(db)}, nil
}

// eventCols are the columns scanEvent reads, after the key.
const eventCols = `seq, term, decoded_term, body_system, severity, serious, start_date, end_date, recorded_date`

func scanEvent(rows *sql.Rows, e *clinical.AdverseEvent, key ...any) error {
	return rows.Scan(append(key, &e.Seq, &e.Term, &e.Decoded, &e.BodySystem, &e.Severity, &e.Serious, &e.Start, &e.End, &e.Recorded)...)
}

// AdverseEvents returns a subject's events ordered by AESEQ; none is not an error.
func (s *Store) AdverseEvents(ctx context.Context, study, usubjid string) ([]clinical.AdverseEvent, error) {
	rows, err := s.db.QueryCached(ctx, nil, `SELECT `+eventCols+`
		FROM adverse_events WHERE study = $1 AND usubjid = $2 ORDER BY seq`, study, usubjid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []clinical.AdverseEvent
	for rows.Next() {
		e := clinical.AdverseEvent{Study: study, USUBJID: usubjid}
		if err := scanEvent(rows, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AdverseEventsOf returns the events of the subjects among usubjids that
// have any, each subject's ordered by AESEQ, in one query.
func (s *Store) AdverseEventsOf(ctx context.Context, study string, usubjids []string) (map[string][]clinical.AdverseEvent, error) {
	out := make(map[string][]clinical.AdverseEvent, len(usubjids))
	err := s.db.QueryKeys(ctx, `SELECT usubjid, `+eventCols+` FROM adverse_events WHERE study = $1 AND usubjid IN (`, `) ORDER BY usubjid, seq`,
		[]any{study}, usubjids, func(rows *sql.Rows) error {
			e := clinical.AdverseEvent{Study: study}
			if err := scanEvent(rows, &e, &e.USUBJID); err != nil {
				return err
			}
			out[e.USUBJID] = append(out[e.USUBJID], e)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ clinical.EventBatchSource = (*Store)(nil)

// AdverseEventsIn returns every adverse event of the study, ordered by
// USUBJID then AESEQ, each with its entry lag when it is known.
func (s *Store) AdverseEventsIn(ctx context.Context, study string) ([]clinical.AdverseEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT usubjid, `+eventCols+`, entry_lag
		FROM adverse_events WHERE study = $1 ORDER BY usubjid, seq`, study)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []clinical.AdverseEvent{}
	for rows.Next() {
		e := clinical.AdverseEvent{Study: study}
		var lag sql.NullInt64
		if err := rows.Scan(&e.USUBJID, &e.Seq, &e.Term, &e.Decoded, &e.BodySystem, &e.Severity, &e.Serious,
			&e.Start, &e.End, &e.Recorded, &lag); err != nil {
			return nil, err
		}
		e.EntryLag, e.HasEntryLag = int(lag.Int64), lag.Valid
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The database's collation may not order text byte by byte.
	byKey := func(a, b clinical.AdverseEvent) int {
		return cmp.Or(strings.Compare(a.USUBJID, b.USUBJID), cmp.Compare(a.Seq, b.Seq))
	}
	if !slices.IsSortedFunc(out, byKey) {
		slices.SortStableFunc(out, byKey)
	}
	return out, nil
}

var _ clinical.StudyEvents = (*Store)(nil)

var table = tracked.Table{
	Name:    "adverse_events",
	Cols:    []string{"study", "usubjid", "seq", "term", "decoded_term", "body_system", "severity", "serious", "start_date", "end_date", "recorded_date"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "adverse_events_history",
}

func rows(evs []clinical.AdverseEvent) [][]any {
	out := make([][]any, len(evs))
	for i, e := range evs {
		out[i] = []any{e.Study, e.USUBJID, int64(e.Seq), e.Term, e.Decoded, e.BodySystem, e.Severity, e.Serious,
			string(e.Start), string(e.End), string(e.Recorded)}
	}
	return out
}

// Put stores one study's adverse events, all or nothing. Unchanged rows
// are left alone; changed ones are updated and recorded in
// adverse_events_history. A row is stored with its entry lag, the days
// from its onset to now (clinical.EntryLag), which an update keeps. The
// lag is not one of the compared columns: a row sent again later is
// unchanged.
func (s *Store) Put(ctx context.Context, study string, evs []clinical.AdverseEvent, now time.Time) (clinical.Summary, error) {
	return staged.Put(ctx, s.stage, stagedTable, study, now, rows, evs)
}

// entryLag is a row of table's entry lag written at now, or nil when its
// onset is partial or missing, as the one value of its stored columns
// past table's.
func entryLag(row []any, now time.Time) []any {
	if days, ok := clinical.EntryLag(clinical.Date(sqldb.String(row[startCol])), now); ok {
		return []any{int64(days)}
	}
	return []any{nil}
}

// startCol is where a row of table holds start_date.
const startCol = 8

// stagedTable is table, a view over generations of each subject's rows
// (see internal/staged), each row with its entry lag.
var stagedTable = staged.Table{Table: table, Extra: []string{"entry_lag"}, ExtraValues: entryLag, Generational: true}

// WriteEvents begins a write of one study's adverse events sent in
// chunks: each chunk is staged out of readers' sight in a short
// transaction of its own, and Commit makes them all visible in one (see
// internal/staged), so the process's other writes go on meanwhile;
// nothing is kept unless Commit succeeds.
func (s *Store) WriteEvents(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[clinical.AdverseEvent], error) {
	return staged.Begin(ctx, s.stage, stagedTable, study, now, rows)
}

// StageEvents begins staging one study's adverse events for an upload
// that publishes them in a transaction of its own
// (staged.Writer.PublishTx); the caller must Close it.
func (s *Store) StageEvents(ctx context.Context, study string, now time.Time) *staged.Writer[clinical.AdverseEvent] {
	return staged.Open(ctx, s.stage, stagedTable, study, now, rows)
}

var _ clinical.EventWriter = (*Store)(nil)
