package signals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

// ErrTransition is returned for a status change the review workflow forbids.
var ErrTransition = errors.New("status change not allowed")

// StatusChange is one entry of a signal's review history.
type StatusChange struct {
	At     time.Time             `json:"at"`
	Actor  string                `json:"actor"`
	From   clinical.SignalStatus `json:"from"`
	To     clinical.SignalStatus `json:"to"`
	Reason string                `json:"reason"`
}

// Signal returns one signal of a study, or clinical.ErrNotFound.
func (s *Store) Signal(ctx context.Context, study string, id int64) (clinical.Signal, error) {
	sg, err := scanSignal(s.db.QueryRowContext(ctx, `SELECT `+signalCols+` FROM signals WHERE study = $1 AND id = $2`, study, id), study)
	if errors.Is(err, sql.ErrNoRows) {
		return sg, fmt.Errorf("signal %d in study %s: %w", id, study, clinical.ErrNotFound)
	}
	return sg, err
}

// SetStatus moves a signal through its review and records who did it,
// when and why in the append-only signal_history.
func (s *Store) SetStatus(ctx context.Context, study string, id int64, to clinical.SignalStatus, actor, reason string, now time.Time) (clinical.Signal, error) {
	var out clinical.Signal
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var from clinical.SignalStatus
		lock := ""
		if s.db.Dialect == sqldb.Postgres {
			lock = " FOR UPDATE" // two monitors acting at once: the second sees the first's change
		}
		err := tx.QueryRowContext(ctx, `SELECT status FROM signals WHERE study = $1 AND id = $2`+lock, study, id).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("signal %d in study %s: %w", id, study, clinical.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := from.CheckTransition(to, reason); err != nil {
			return fmt.Errorf("%w: %v", ErrTransition, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signals SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`,
			string(to), reason, now.UnixMilli(), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO signal_history (signal_id, changed_at, actor, from_status, to_status, reason)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, now.UnixMilli(), actor, string(from), string(to), reason); err != nil {
			return err
		}
		out, err = scanSignal(tx.QueryRowContext(ctx, `SELECT `+signalCols+` FROM signals WHERE id = $1`, id), study)
		if err != nil {
			return err
		}
		return audit.WriteTx(ctx, tx) // the request's audit record commits with the change
	})
	return out, err
}

// History lists a signal's status changes, oldest first.
func (s *Store) History(ctx context.Context, id int64) ([]StatusChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT changed_at, actor, from_status, to_status, reason
		FROM signal_history WHERE signal_id = $1
		ORDER BY changed_at, CASE from_status WHEN 'new' THEN 0 ELSE 1 END`, id) // review only moves forward
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var at int64
		if err := rows.Scan(&at, &c.Actor, &c.From, &c.To, &c.Reason); err != nil {
			return nil, err
		}
		c.At = time.UnixMilli(at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
