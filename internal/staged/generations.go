package staged

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

// A generational table T keyed by study, USUBJID and --SEQ keeps its rows
// in two tables its service's migrations make, T_subjects (id, study,
// usubjid, replaces) and T_rows (subject_id, then T's columns after
// usubjid, then Extra's), and shows them to readers through the view T,
// which joins them and leaves out the rows of T_subjects under a stage's
// name. A stage gives each subject whose rows it changes a generation: a
// row of T_subjects under the stage's name, noting the one it replaces,
// and a copy of the subject's rows with the stage's written over them,
// made a chunk a transaction. Publishing renames, per subject changed,
// its current row of T_subjects aside (retired) and its generation to the
// study: a statement or two over T_subjects, whatever the rows. A reader's
// query sees the old generation or the new, never a mix. Retired
// generations are deleted once published, a bounded step at a time.

// generations is the stage of a generational table.
type generations struct {
	a       *Area
	t       Table
	study   string
	name    string // the stage's name: its generations' study
	now     time.Time
	gen     map[string]int64   // the subjects given a generation, each its id
	history int64              // history records staged
	retired string             // once published, the name the replaced generations went under
	session *sqldb.LazySession // Put's transactions', when not nil
}

func (g *generations) commitLazily(session *sqldb.LazySession) { g.session = session }

func (t Table) subjects() string  { return t.Name + "_subjects" }
func (t Table) rowsTable() string { return t.Name + "_rows" }

// rowCols are the columns of T_rows: subject_id and T's columns after
// study and usubjid, then Extra's.
func (t Table) rowCols() []string {
	return append(append([]string{"subject_id"}, t.Cols[2:]...), t.Extra...)
}

// Put stages rows in one short transaction, and says what publishing them
// changes.
func (g *generations) Put(ctx context.Context, rows [][]any) (clinical.Summary, error) {
	var sum tracked.Summary
	gen := maps.Clone(g.gen)
	err := g.a.inTx(ctx, g.session, func(tx *sql.Tx) error {
		t := g.t.Table
		t.Name = g.t.rowsTable()
		t.Read = g.readExpr()
		t.History, t.HistoryStudy = g.t.stagedHistory(), g.name
		t.Write = func(ctx context.Context, tx *sql.Tx, rows [][]any) error { return g.writeTx(ctx, tx, gen, rows) }
		var err error
		sum, err = tracked.PutTx(ctx, g.a.db, tx, t, g.study, rows, g.now)
		return err
	})
	if err != nil {
		return clinical.Summary{}, err
	}
	g.gen = gen // the generations made are kept only if their transaction committed
	g.history += int64(sum.Updated)
	return clinical.Summary(sum), nil
}

// readExpr is what a chunk is compared with, as tracked.Table's Read: each
// subject's generation when it has one, else its current rows, all under
// the study's name. The names are quoted as SQL strings: Read is a table
// expression, not a statement with parameters.
func (g *generations) readExpr() string {
	cols := "s.usubjid"
	for _, c := range g.t.Cols[2:] {
		cols += ", r." + c
	}
	from := ` FROM ` + g.t.rowsTable() + ` r JOIN ` + g.t.subjects() + ` s ON s.id = r.subject_id`
	return `(SELECT ` + quote(g.study) + ` AS study, ` + cols + from + ` WHERE s.study = ` + quote(g.name) + `
		UNION ALL SELECT s.study, ` + cols + from + ` WHERE s.study = ` + quote(g.study) + ` AND NOT EXISTS (
			SELECT 1 FROM ` + g.t.subjects() + ` p WHERE p.study = ` + quote(g.name) + ` AND p.usubjid = s.usubjid)) staged`
}

// writeTx stores rows (of T's columns), new or changed, in their
// subjects' generations, giving those without one theirs first.
func (g *generations) writeTx(ctx context.Context, tx *sql.Tx, gen map[string]int64, rows [][]any) error {
	var missing []string
	seen := map[string]bool{}
	for _, r := range rows {
		if id := sqldb.String(r[1]); gen[id] == 0 && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	for start := 0; start < len(missing); start += subjectsPerQuery {
		if err := g.beginGenerationsTx(ctx, tx, gen, missing[start:min(start+subjectsPerQuery, len(missing))]); err != nil {
			return fmt.Errorf("staging %s: %w", g.t.Name, err)
		}
	}
	stored := make([][]any, len(rows))
	for i, r := range rows {
		row := append(make([]any, 0, len(r)-1+len(g.t.Extra)), gen[sqldb.String(r[1])])
		row = append(row, r[2:]...)
		if g.t.ExtraValues != nil {
			row = append(row, g.t.ExtraValues(r, g.now)...)
		}
		stored[i] = row
	}
	key := append([]string{"subject_id"}, g.t.Key[2:]...)
	return g.a.db.UpsertKeeping(ctx, tx, g.t.rowsTable(), g.t.rowCols(), key, g.t.Extra, stored)
}

// subjectsPerQuery bounds the IN list of a statement over subjects.
const subjectsPerQuery = 500

// beginGenerationsTx gives each of subjects its generation: a row of
// T_subjects under the stage's name, noting the current one it replaces,
// with a copy of the current one's rows.
func (g *generations) beginGenerationsTx(ctx context.Context, tx *sql.Tx, gen map[string]int64, subjects []string) error {
	in := sqldb.Placeholders(2, len(subjects))
	current := map[string]int64{}
	if err := scanIDs(ctx, tx, `SELECT usubjid, id FROM `+g.t.subjects()+` WHERE study = $1 AND usubjid IN (`+in+`)`,
		append([]any{g.study}, sqldb.Args(subjects)...), func(usubjid string, id int64) { current[usubjid] = id }); err != nil {
		return err
	}
	add := make([][]any, len(subjects))
	for i, id := range subjects {
		var replaces any // none: the subject has no rows yet
		if cur, ok := current[id]; ok {
			replaces = cur
		}
		add[i] = []any{g.name, id, replaces}
	}
	if err := g.a.db.WriteRows(ctx, tx, `INSERT INTO `+g.t.subjects()+` (study, usubjid, replaces) VALUES `, "", 3, add); err != nil {
		return err
	}
	cols := g.t.rowCols()
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+g.t.rowsTable()+` (`+strings.Join(cols, ", ")+`)
		SELECT p.id, r.`+strings.Join(cols[1:], ", r.")+` FROM `+g.t.subjects()+` p JOIN `+g.t.rowsTable()+` r ON r.subject_id = p.replaces
		WHERE p.study = $1 AND p.usubjid IN (`+in+`)`, append([]any{g.name}, sqldb.Args(subjects)...)...); err != nil {
		return err
	}
	return scanIDs(ctx, tx, `SELECT usubjid, id FROM `+g.t.subjects()+` WHERE study = $1 AND usubjid IN (`+in+`)`,
		append([]any{g.name}, sqldb.Args(subjects)...), func(usubjid string, id int64) { gen[usubjid] = id })
}

func scanIDs(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(string, int64)) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var usubjid string
		var id int64
		if err := rows.Scan(&usubjid, &id); err != nil {
			return err
		}
		fn(usubjid, id)
	}
	return rows.Err()
}

// PublishTx makes the stage's generations current, within tx, which the
// caller commits with the rest of the upload, and moves its history
// records to T's history. If another write changed one of the subjects'
// rows since the stage gave it its generation, it returns an error
// wrapping clinical.ErrConflict: publishing would lose that write's
// changes.
func (g *generations) PublishTx(ctx context.Context, tx *sql.Tx) error {
	if len(g.gen) > 0 {
		var moved int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+g.t.subjects()+` p LEFT JOIN `+g.t.subjects()+` x ON x.study = $1 AND x.usubjid = p.usubjid
			WHERE p.study = $2 AND COALESCE(x.id, 0) <> COALESCE(p.replaces, 0)`, g.study, g.name).Scan(&moved); err != nil {
			return fmt.Errorf("publishing %s: %w", g.t.Name, err)
		}
		if moved > 0 {
			return fmt.Errorf("the %s rows of %d subjects were written by another upload while this one was stored: %w", g.t.Name, moved, clinical.ErrConflict)
		}
		retired := newName(time.Now(), retiredKind)
		res, err := tx.ExecContext(ctx, `UPDATE `+g.t.subjects()+` SET study = $1 WHERE study = $2 AND usubjid IN (
			SELECT usubjid FROM `+g.t.subjects()+` WHERE study = $3)`, retired, g.study, g.name)
		if err != nil {
			return fmt.Errorf("publishing %s: %w", g.t.Name, err)
		}
		replaced, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("publishing %s: %w", g.t.Name, err)
		}
		res, err = tx.ExecContext(ctx, `UPDATE `+g.t.subjects()+` SET study = $1 WHERE study = $2`, g.study, g.name)
		if err != nil {
			return fmt.Errorf("publishing %s: %w", g.t.Name, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(g.gen)) {
			return fmt.Errorf("publishing %s: %d of %d generations staged found (%v): swept as stale after %v?", g.t.Name, n, len(g.gen), err, Stale)
		}
		if replaced > 0 { // else there is nothing to delete once published (subjects all new)
			g.retired = retired
		}
	}
	return publishHistoryTx(ctx, tx, g.t, g.name, g.study, g.history)
}

// Discard deletes, a bounded step at a time, the generations the stage
// replaced once published, else its own, and its history records.
func (g *generations) Discard(ctx context.Context, published bool) error {
	if len(g.gen) == 0 && g.history == 0 {
		return nil
	}
	ctx, cancel := withBound(ctx)
	defer cancel()
	name := g.name
	if published {
		name = g.retired
	}
	if name != "" {
		if err := g.a.deleteGenerations(ctx, g.t, name); err != nil {
			return err
		}
	}
	if published && g.history == 0 {
		return nil // publishing found none staged (see publishHistoryTx): each deletion is a transaction
	}
	return g.a.deleteRows(ctx, g.t.stagedHistory(), "study", g.name)
}

// deleteSubjectsPerStep bounds the generations one transaction deletes.
const deleteSubjectsPerStep = 32

// deleteGenerations deletes the generations under name and their rows,
// deleteSubjectsPerStep subjects a transaction.
func (a *Area) deleteGenerations(ctx context.Context, t Table, name string) error {
	for {
		var ids []any
		err := a.db.InTx(ctx, func(tx *sql.Tx) error {
			ids = ids[:0]
			err := a.db.Each(ctx, tx, `SELECT id FROM `+t.subjects()+` WHERE study = $1 LIMIT `+strconv.Itoa(deleteSubjectsPerStep),
				[]any{name}, func(r *sql.Rows) error {
					var id int64
					err := r.Scan(&id)
					ids = append(ids, id)
					return err
				})
			if err != nil || len(ids) == 0 {
				return err
			}
			in := sqldb.Placeholders(1, len(ids))
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.rowsTable()+` WHERE subject_id IN (`+in+`)`, ids...); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM `+t.subjects()+` WHERE id IN (`+in+`)`, ids...)
			return err
		})
		if err != nil || len(ids) == 0 {
			return err
		}
	}
}
