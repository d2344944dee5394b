package signals

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/sqldb"
)

// OpenAfter is how long a finding may stay new or acknowledged before it
// counts as open too long (the tw0003 KRI).
const OpenAfter = 30 * 24 * time.Hour

// SubjectFindings counts each subject's findings of a study for the site
// KRIs: SAE_LATE and LAB_AE_UNRECONCILED findings, findings still new or
// acknowledged that were raised more than OpenAfter before asOf, and all
// findings. A finding the data resolved is not counted: the data no
// longer shows it.
func (s *Store) SubjectFindings(ctx context.Context, study string, asOf time.Time) (map[string]kri.Findings, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT usubjid,
			SUM(CASE WHEN rule = $2 THEN 1 ELSE 0 END),
			SUM(CASE WHEN rule = $3 THEN 1 ELSE 0 END),
			SUM(CASE WHEN status IN ($4, $5) AND created_at < $6 THEN 1 ELSE 0 END),
			COUNT(*)
		FROM signals WHERE study = $1 AND usubjid <> '' AND status <> $7
		GROUP BY usubjid`,
		study, string(rules.SAELate), string(rules.LabAEUnreconciled),
		string(clinical.StatusNew), string(clinical.StatusAcknowledged), asOf.Add(-OpenAfter).UnixMilli(),
		string(clinical.StatusResolvedByData))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]kri.Findings{}
	for rows.Next() {
		var id string
		var f kri.Findings
		if err := rows.Scan(&id, &f.LateSAE, &f.Unreconciled, &f.Open30Days, &f.Total); err != nil {
			return nil, err
		}
		out[id] = f
	}
	return out, rows.Err()
}

// SyncSiteFindingsTx makes a study's stored findings of rule without a
// subject (site KRI flags, crossed QTLs) those raised, within tx: one per
// evidence key while it is raised. A finding raised for the first time is
// new; one stored is refreshed, and reopened as new if the data had
// resolved it. A new or acknowledged finding no longer raised is
// resolved_by_data. Both moves are in the review history, by Actor.
// A closed finding stays closed: a monitor dismissed it.
func (s *Store) SyncSiteFindingsTx(ctx context.Context, tx *sql.Tx, study string, rule clinical.Rule, raised []clinical.Signal, now time.Time) (opened, resolved int, err error) {
	type stored struct {
		id     int64
		status clinical.SignalStatus
	}
	have := map[string]stored{}
	lock := ""
	if s.db.Dialect == sqldb.Postgres {
		lock = " FOR UPDATE" // two recomputes at once (replicas): the second sees the first's findings
	}
	// No ORDER BY: SQLite would walk the whole table in id order rather
	// than the few rows of the unique key's index.
	rows, err := tx.QueryContext(ctx, `SELECT id, evidence_key, status FROM signals WHERE study = $1 AND usubjid = '' AND rule = $2`+lock, study, string(rule))
	if err != nil {
		return 0, 0, err
	}
	for rows.Next() {
		var st stored
		var key string
		if err := rows.Scan(&st.id, &key, &st.status); err != nil {
			rows.Close()
			return 0, 0, err
		}
		have[key] = st
	}
	if err := rows.Close(); err != nil {
		return 0, 0, err
	}
	move := func(id int64, from, to clinical.SignalStatus, reason string) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signals SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`,
			string(to), reason, now.UnixMilli(), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signal_history (signal_id, changed_at, actor, from_status, to_status, reason)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, now.UnixMilli(), Actor, string(from), string(to), reason)
		return err
	}
	raisedKeys := map[string]bool{}
	for _, sg := range raised {
		if sg.Study != study || sg.Rule != rule || sg.USUBJID != "" {
			return 0, 0, fmt.Errorf("site finding %s %s: not a finding of study %s and rule %s without a subject", sg.Rule, sg.Key, study, rule)
		}
		raisedKeys[sg.Key] = true
		ev, err := json.Marshal(sg.Evidence)
		if err != nil {
			return 0, 0, fmt.Errorf("site finding %s: evidence: %w", sg.Key, err)
		}
		st, ok := have[sg.Key]
		if !ok {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signals (study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at)
				VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8)`,
				study, sg.Site, string(rule), int64(sg.Severity), sg.Key, string(ev), sg.Message, now.UnixMilli()); err != nil {
				return 0, 0, err
			}
			opened++
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signals SET site = $1, severity = $2, evidence = $3, message = $4 WHERE id = $5`,
			sg.Site, int64(sg.Severity), string(ev), sg.Message, st.id); err != nil {
			return 0, 0, err
		}
		if st.status == clinical.StatusResolvedByData {
			if err := move(st.id, st.status, clinical.StatusNew, "raised again by the data: "+sg.Message); err != nil {
				return 0, 0, err
			}
			opened++
		}
	}
	// In key order: map order must not decide the order rows are locked in.
	for _, key := range slices.Sorted(maps.Keys(have)) {
		st := have[key]
		if raisedKeys[key] || (st.status != clinical.StatusNew && st.status != clinical.StatusAcknowledged) {
			continue
		}
		if err := move(st.id, st.status, clinical.StatusResolvedByData, "no longer raised by the data: the latest computation does not find it"); err != nil {
			return 0, 0, err
		}
		resolved++
	}
	return opened, resolved, nil
}
