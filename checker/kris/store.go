// Package kris keeps a study's site key risk indicators: each computation
// (clinical/kri) stored as a snapshot with its data cut, so that history
// and "flagged N times in a row" can be read back; the study's KRI
// settings; and the service that recomputes them from the study's data,
// on demand and, debounced, after uploads, raising SITE_KRI_FLAG and
// QTL_EXCEEDED findings in the signals' review workflow.
package kris

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/schema"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Store keeps KRI snapshots and settings in the checker's database.
type Store struct{ db *sqldb.DB }

// Open applies the checker's migrations and returns the KRI store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := schema.Migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Snapshot is one computation of a study's KRIs.
type Snapshot struct {
	ID       int64
	Study    string
	DataCut  time.Time // the data the KRIs were computed from, as of this instant
	Computed time.Time
	KRIs     []kri.Analysis
	// Streaks are how many snapshots in a row, this one included, flagged
	// each site of each KRI: Streaks[kri][site], 0 when this one did not.
	Streaks    map[string]map[string]int
	RiskScores []kri.RiskScore
	QTLs       []kri.QTLResult
}

// Streak is how many snapshots in a row flagged site of KRI id.
func (s Snapshot) Streak(id, site string) int { return s.Streaks[id][site] }

// LabGrades reads each subject's graded lab results as its last check
// counted them (subject_lab_grades).
func (s *Store) LabGrades(ctx context.Context, study string) (map[string]kri.LabGrades, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT usubjid, graded, grade3plus FROM subject_lab_grades WHERE study = $1`, study)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]kri.LabGrades{}
	for rows.Next() {
		var id string
		var g kri.LabGrades
		if err := rows.Scan(&id, &g.Graded, &g.Grade3Plus); err != nil {
			return nil, err
		}
		out[id] = g
	}
	return out, rows.Err()
}

// PendingChecks counts a study's subjects queued for a check: KRIs read
// what checks store, so a recompute waits for them.
func (s *Store) PendingChecks(ctx context.Context, study string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM check_jobs WHERE study = $1`, study).Scan(&n)
	return n, err
}

// Settings returns what the study changed of the KRI defaults; the zero
// Settings (defaults) when it changed nothing.
func (s *Store) Settings(ctx context.Context, study string) (kri.Settings, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, `SELECT settings FROM kri_settings WHERE study = $1`, study).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return kri.Settings{}, nil
	}
	if err != nil {
		return kri.Settings{}, err
	}
	var set kri.Settings
	if err := json.Unmarshal([]byte(doc), &set); err != nil {
		return kri.Settings{}, fmt.Errorf("study %s: stored KRI settings are not JSON: %w", study, err)
	}
	return set, nil
}

// PutSettings stores what a study changes of the KRI defaults, with the
// request's audit record in the same transaction. The caller validates.
func (s *Store) PutSettings(ctx context.Context, study string, set kri.Settings, now time.Time) error {
	doc, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO kri_settings (study, settings, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (study) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
			study, string(doc), now.UnixMilli()); err != nil {
			return err
		}
		return audit.WriteTx(ctx, tx)
	})
}

// siteKey names one site of one KRI.
type siteKey struct{ kri, site string }

// Save stores r as a new snapshot of study, and runs also (if not nil)
// in the same transaction with the snapshot as stored (its ID and
// streaks): the findings raised from it commit with it, or neither does.
func (s *Store) Save(ctx context.Context, study string, dataCut, now time.Time, r kri.Report, also func(context.Context, *sql.Tx, Snapshot) error) (Snapshot, error) {
	snap := Snapshot{Study: study, DataCut: dataCut.UTC(), Computed: now.UTC(), KRIs: r.KRIs, RiskScores: r.RiskScores, QTLs: r.QTLs,
		Streaks: map[string]map[string]int{}}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		prev, err := lastStreaks(ctx, tx, study)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO kri_snapshots (study, data_cut, computed_at) VALUES ($1, $2, $3) RETURNING id`,
			study, snap.DataCut.UnixMilli(), snap.Computed.UnixMilli()).Scan(&snap.ID); err != nil {
			return err
		}
		var analyses, sites, scores, qtls [][]any
		for _, a := range r.KRIs {
			th, err := json.Marshal(a.Spec.Thresholds)
			if err != nil {
				return err
			}
			analyses = append(analyses, []any{snap.ID, a.Spec.ID, a.Overall, a.Factor, string(th), a.Spec.MinDenominator})
			streaks := map[string]int{}
			snap.Streaks[a.Spec.ID] = streaks
			for _, site := range a.Sites {
				var score, flag any
				if site.Scored {
					score, flag = site.Score, site.Flag
					if site.Flag != 0 {
						streaks[site.Site] = prev[siteKey{a.Spec.ID, site.Site}] + 1
					}
				}
				sites = append(sites, []any{snap.ID, study, a.Spec.ID, site.Site, site.Numerator, site.Denominator, site.Metric, score, flag, streaks[site.Site]})
			}
		}
		for _, rs := range r.RiskScores {
			scores = append(scores, []any{snap.ID, rs.Site, rs.Score, rs.Raw, rs.Max, rs.Red, rs.Amber})
		}
		for _, q := range r.QTLs {
			qtls = append(qtls, []any{snap.ID, q.ID, q.Numerator, q.Denominator, q.Metric, q.Limit, q.Exceeded})
		}
		for _, w := range []struct {
			head string
			cols int
			rows [][]any
		}{
			{`INSERT INTO kri_analyses (snapshot_id, kri, overall, factor, thresholds, min_denominator) VALUES `, 6, analyses},
			{`INSERT INTO kri_site_results (snapshot_id, study, kri, site, numerator, denominator, metric, score, flag, streak) VALUES `, 10, sites},
			{`INSERT INTO kri_risk_scores (snapshot_id, site, score, raw, max_raw, red, amber) VALUES `, 7, scores},
			{`INSERT INTO kri_qtl_results (snapshot_id, qtl, numerator, denominator, metric, limit_value, exceeded) VALUES `, 7, qtls},
		} {
			if err := s.db.WriteRows(ctx, tx, w.head, "", w.cols, w.rows); err != nil {
				return err
			}
		}
		if also != nil {
			return also(ctx, tx, snap)
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, err
	}
	return snap, nil
}

// lastStreaks reads the streaks of study's latest snapshot.
func lastStreaks(ctx context.Context, tx *sql.Tx, study string) (map[siteKey]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT kri, site, streak FROM kri_site_results
		WHERE snapshot_id = (SELECT MAX(id) FROM kri_snapshots WHERE study = $1) AND streak > 0`, study)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[siteKey]int{}
	for rows.Next() {
		var k siteKey
		var n int
		if err := rows.Scan(&k.kri, &k.site, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// Latest reads the study's newest snapshot; clinical.ErrNotFound when its
// KRIs were never computed.
func (s *Store) Latest(ctx context.Context, study string) (Snapshot, error) {
	snap := Snapshot{Study: study, Streaks: map[string]map[string]int{}}
	var cut, computed int64
	err := s.db.QueryRowContext(ctx, `SELECT id, data_cut, computed_at FROM kri_snapshots WHERE study = $1 ORDER BY id DESC LIMIT 1`, study).
		Scan(&snap.ID, &cut, &computed)
	if errors.Is(err, sql.ErrNoRows) {
		return snap, fmt.Errorf("KRIs of study %s: never computed: %w", study, clinical.ErrNotFound)
	}
	if err != nil {
		return snap, err
	}
	snap.DataCut, snap.Computed = time.UnixMilli(cut).UTC(), time.UnixMilli(computed).UTC()

	byID := map[string]int{}
	err = s.db.Each(ctx, nil, `SELECT kri, overall, factor, thresholds, min_denominator FROM kri_analyses WHERE snapshot_id = $1`, []any{snap.ID}, func(rows *sql.Rows) error {
		var id, th string
		var a kri.Analysis
		var min float64
		if err := rows.Scan(&id, &a.Overall, &a.Factor, &th, &min); err != nil {
			return err
		}
		sp, ok := kri.SpecFor(id)
		if !ok {
			return nil // a KRI this version no longer computes
		}
		if err := json.Unmarshal([]byte(th), &sp.Thresholds); err != nil {
			return fmt.Errorf("snapshot %d, %s: stored thresholds are not JSON: %w", snap.ID, id, err)
		}
		sp.MinDenominator = min
		a.Spec = sp
		byID[id] = len(snap.KRIs)
		snap.KRIs = append(snap.KRIs, a)
		snap.Streaks[id] = map[string]int{}
		return nil
	})
	if err != nil {
		return snap, err
	}
	err = s.db.Each(ctx, nil, `SELECT kri, site, numerator, denominator, metric, score, flag, streak FROM kri_site_results WHERE snapshot_id = $1`, []any{snap.ID}, func(rows *sql.Rows) error {
		var id string
		var r kri.SiteResult
		var score sql.NullFloat64
		var flag sql.NullInt64
		var streak int
		if err := rows.Scan(&id, &r.Site, &r.Numerator, &r.Denominator, &r.Metric, &score, &flag, &streak); err != nil {
			return err
		}
		i, ok := byID[id]
		if !ok {
			return nil
		}
		r.Scored, r.Score, r.Flag = score.Valid, score.Float64, int(flag.Int64)
		snap.KRIs[i].Sites = append(snap.KRIs[i].Sites, r)
		if streak > 0 {
			snap.Streaks[id][r.Site] = streak
		}
		return nil
	})
	if err != nil {
		return snap, err
	}
	// Report order, sites in the order Analyze gives them.
	ordered := snap.KRIs[:0:0]
	for _, sp := range kri.Specs() {
		if i, ok := byID[sp.ID]; ok {
			a := snap.KRIs[i]
			slices.SortFunc(a.Sites, func(x, y kri.SiteResult) int { return kri.CompareSites(x.Site, y.Site) })
			ordered = append(ordered, a)
		}
	}
	snap.KRIs = ordered
	err = s.db.Each(ctx, nil, `SELECT site, score, raw, max_raw, red, amber FROM kri_risk_scores WHERE snapshot_id = $1`, []any{snap.ID}, func(rows *sql.Rows) error {
		var rs kri.RiskScore
		if err := rows.Scan(&rs.Site, &rs.Score, &rs.Raw, &rs.Max, &rs.Red, &rs.Amber); err != nil {
			return err
		}
		snap.RiskScores = append(snap.RiskScores, rs)
		return nil
	})
	if err != nil {
		return snap, err
	}
	slices.SortFunc(snap.RiskScores, func(x, y kri.RiskScore) int { return kri.CompareSites(x.Site, y.Site) })
	err = s.db.Each(ctx, nil, `SELECT qtl, numerator, denominator, metric, limit_value, exceeded FROM kri_qtl_results WHERE snapshot_id = $1 ORDER BY qtl`, []any{snap.ID}, func(rows *sql.Rows) error {
		var q kri.QTLResult
		if err := rows.Scan(&q.ID, &q.Numerator, &q.Denominator, &q.Metric, &q.Limit, &q.Exceeded); err != nil {
			return err
		}
		if sp, ok := kri.SpecFor(q.ID); ok {
			q.Name = sp.Name
		}
		snap.QTLs = append(snap.QTLs, q)
		return nil
	})
	return snap, err
}

// Point is one site's KRI in one snapshot.
type Point struct {
	SnapshotID int64
	DataCut    time.Time
	kri.SiteResult
	Streak int
}

// History lists site's results of KRI id in study's snapshots, newest
// first, at most limit of them.
func (s *Store) History(ctx context.Context, study, id, site string, limit int) ([]Point, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.snapshot_id, k.data_cut, r.numerator, r.denominator, r.metric, r.score, r.flag, r.streak
		FROM kri_site_results r JOIN kri_snapshots k ON k.id = r.snapshot_id
		WHERE r.study = $1 AND r.kri = $2 AND r.site = $3
		ORDER BY r.snapshot_id DESC LIMIT $4`, study, id, site, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		p := Point{SiteResult: kri.SiteResult{Site: site}}
		var cut int64
		var score sql.NullFloat64
		var flag sql.NullInt64
		if err := rows.Scan(&p.SnapshotID, &cut, &p.Numerator, &p.Denominator, &p.Metric, &score, &flag, &p.Streak); err != nil {
			return nil, err
		}
		p.DataCut = time.UnixMilli(cut).UTC()
		p.Scored, p.Score, p.Flag = score.Valid, score.Float64, int(flag.Int64)
		out = append(out, p)
	}
	return out, rows.Err()
}

// QueuedStudies lists the studies with subjects queued for a check.
func (s *Store) QueuedStudies(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT study FROM check_jobs ORDER BY study`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var study string
		if err := rows.Scan(&study); err != nil {
			return nil, err
		}
		out = append(out, study)
	}
	return out, rows.Err()
}

// LabVersions sums up a study's lab versions (lab_subjects): how many
// subjects have lab results, and the sum of their versions, which grows
// with every write of any of them.
type LabVersions struct{ Subjects, Sum int64 }

// LabVersions reads the study's lab versions.
func (s *Store) LabVersions(ctx context.Context, study string) (LabVersions, error) {
	var v LabVersions
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(version), 0) FROM lab_subjects WHERE study = $1`, study).Scan(&v.Subjects, &v.Sum)
	return v, err
}
