package signals

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
)

// Settings returns the study's settings: rules.DefaultConfig overlaid
// with the document the study stored, so a field the document lacks (it
// was stored before the field existed) has its default.
func (s *Store) Settings(ctx context.Context, study string) (rules.Config, error) {
	cfg := rules.DefaultConfig()
	var doc string
	err := s.db.QueryRowCached(ctx, `SELECT document FROM study_settings WHERE study = $1`, study).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return cfg, nil
	}
	if err != nil {
		return rules.Config{}, err
	}
	if err := json.Unmarshal([]byte(doc), &cfg); err != nil {
		return rules.Config{}, fmt.Errorf("study %s: stored settings are not a settings document: %w", study, err)
	}
	return cfg, nil
}

// PutSettings stores cfg as the study's whole settings document.
func (s *Store) PutSettings(ctx context.Context, study string, cfg rules.Config, now time.Time) error {
	doc, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO study_settings (study, document, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (study) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
			study, string(doc), now.UnixMilli())
		if err != nil {
			return err
		}
		if s.recheck != nil {
			if err := s.recheck(ctx, tx, study, now); err != nil {
				return fmt.Errorf("queueing the study's re-checks: %w", err)
			}
		}
		return audit.WriteTx(ctx, tx) // the request's audit record commits with the change
	})
}

// putEDISHes stores several subjects' eDISH points in p, in as few
// statements as the dialect allows rather than one each. A subject given
// twice keeps its last point.
func putEDISHes(p *pipeline.Tx, points []liver.EDISHPoint, now time.Time) {
	at := make(map[[2]string]int, len(points))
	rows := make([][]any, 0, len(points))
	for _, pt := range points {
		k := [2]string{pt.Study, pt.USUBJID}
		if i, dup := at[k]; dup {
			rows[i] = edishRow(pt, now) // PostgreSQL's ON CONFLICT cannot update a row twice in one statement
			continue
		}
		at[k] = len(rows)
		rows = append(rows, edishRow(pt, now))
	}
	p.WriteRows(edishInsert, edishUpsert, edishCols, rows)
}

// edishInsert and edishUpsert surround the VALUES of eDISH points written.
const (
	edishInsert = `INSERT INTO edish_points
		(study, usubjid, site, alt, ast, transaminase, bilirubin, quadrant, alt_seq, ast_seq, bilirubin_seq, detail, updated_at)
		VALUES `
	edishUpsert = `
		ON CONFLICT (study, usubjid) DO UPDATE SET site = excluded.site, alt = excluded.alt, ast = excluded.ast,
			transaminase = excluded.transaminase, bilirubin = excluded.bilirubin, quadrant = excluded.quadrant,
			alt_seq = excluded.alt_seq, ast_seq = excluded.ast_seq, bilirubin_seq = excluded.bilirubin_seq,
			detail = excluded.detail, updated_at = excluded.updated_at`
	edishCols = 13
)

// edishDetail is what an eDISH point holds besides its coordinates, as
// the detail column stores it. A point stored before the column existed
// reads as the zero edishDetail: no arm, ALP or dates, no mDISH point.
type edishDetail struct {
	Arm           string            `json:"arm,omitempty"`
	ALTDate       clinical.Date     `json:"alt_date,omitempty"`
	ASTDate       clinical.Date     `json:"ast_date,omitempty"`
	BilirubinDate clinical.Date     `json:"bilirubin_date,omitempty"`
	ALP           float64           `json:"alp,omitempty"`
	ALPSeq        int               `json:"alp_seq,omitempty"`
	ALPDate       clinical.Date     `json:"alp_date,omitempty"`
	MDISH         *liver.MDISHPoint `json:"mdish,omitempty"`
}

func edishRow(p liver.EDISHPoint, now time.Time) []any {
	detail, _ := json.Marshal(edishDetail{Arm: p.Arm, ALTDate: p.ALTDate, ASTDate: p.ASTDate, BilirubinDate: p.BilirubinDate,
		ALP: p.ALP, ALPSeq: p.ALPSeq, ALPDate: p.ALPDate, MDISH: p.MDISH}) // plain data: cannot fail
	return []any{p.Study, p.USUBJID, p.Site, p.ALT, p.AST, p.Transaminase, p.Bilirubin, string(p.Quadrant), p.ALTSeq, p.ASTSeq, p.BilirubinSeq,
		string(detail), now.UnixMilli()}
}

// EDISH lists the study's eDISH points, optionally of one site.
func (s *Store) EDISH(ctx context.Context, study, site string) ([]liver.EDISHPoint, error) {
	q := `SELECT usubjid, site, alt, ast, transaminase, bilirubin, quadrant, alt_seq, ast_seq, bilirubin_seq, detail
		FROM edish_points WHERE study = $1`
	args := []any{study}
	if site != "" {
		q += " AND site = $2"
		args = append(args, site)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY usubjid", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []liver.EDISHPoint
	for rows.Next() {
		p := liver.EDISHPoint{Study: study}
		var doc string
		if err := rows.Scan(&p.USUBJID, &p.Site, &p.ALT, &p.AST, &p.Transaminase, &p.Bilirubin, &p.Quadrant,
			&p.ALTSeq, &p.ASTSeq, &p.BilirubinSeq, &doc); err != nil {
			return nil, err
		}
		var d edishDetail
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			return nil, fmt.Errorf("eDISH point of %s: stored detail is not JSON: %w", p.USUBJID, err)
		}
		p.Arm, p.ALTDate, p.ASTDate, p.BilirubinDate = d.Arm, d.ALTDate, d.ASTDate, d.BilirubinDate
		p.ALP, p.ALPSeq, p.ALPDate, p.MDISH = d.ALP, d.ALPSeq, d.ALPDate, d.MDISH
		out = append(out, p)
	}
	return out, rows.Err()
}
