// Package subjects is the subject-information service: it owns the
// subjects table (SDTM DM) and answers who a subject is.
package subjects

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store keeps subjects in SQL.
type Store struct{ db *sqldb.DB }

// Open applies the service's migrations and returns its store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "subjects_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Subject returns one subject or clinical.ErrNotFound.
func (s *Store) Subject(ctx context.Context, study, usubjid string) (clinical.Subject, error) {
	sub := clinical.Subject{Study: study, USUBJID: usubjid}
	err := s.db.QueryRowContext(ctx, `SELECT site, sex, age, arm, consent_date, first_dose, last_dose, end_of_study, death_date
		FROM subjects WHERE study = $1 AND usubjid = $2`, study, usubjid).Scan(
		&sub.Site, &sub.Sex, &sub.Age, &sub.Arm, &sub.ConsentDate, &sub.FirstDose, &sub.LastDose, &sub.EndOfStudy, &sub.DeathDate)
	if errors.Is(err, sql.ErrNoRows) {
		return clinical.Subject{}, fmt.Errorf("subject %s in study %s: %w", usubjid, study, clinical.ErrNotFound)
	}
	return sub, err
}

// Put stores subjects, replacing those already there; all or nothing.
func (s *Store) Put(ctx context.Context, subs []clinical.Subject) error {
	rows := make([][]any, len(subs))
	for i, v := range subs {
		rows[i] = []any{v.Study, v.USUBJID, v.Site, v.Sex, v.Age, v.Arm, string(v.ConsentDate), string(v.FirstDose),
			string(v.LastDose), string(v.EndOfStudy), string(v.DeathDate)}
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.db.Upsert(ctx, tx, "subjects",
			[]string{"study", "usubjid", "site", "sex", "age", "arm", "consent_date", "first_dose", "last_dose", "end_of_study", "death_date"},
			[]string{"study", "usubjid"}, rows)
	})
}
