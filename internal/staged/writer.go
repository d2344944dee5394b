package staged

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Writer stages one study's records of one kind and publishes
// them: the clinical.RecordWriter of the data services' stores (Begin),
// and what an all-in-one upload stages each domain with (Open), to
// publish in its own transaction (PublishTx, then Close).
type Writer[T any] struct {
	mu    sync.Mutex // held by each step, so that an Abort from the context waits for the step under way
	stage stage      // nil once the write is over
	rows  func([]T) [][]any
	sum   clinical.Tally
	over  error // why the write is over
	stop  func() bool
	db    *sqldb.DB
	begun context.Context // Begin's, which ends the write; nil from Open
}

var (
	errCommitted = errors.New("the write is already committed")
	errAborted   = errors.New("the write was aborted")
)

// Open begins a write of study's records of t, made rows of by rows; its
// caller ends it with Close.
func Open[T any](ctx context.Context, a *Area, t Table, study string, now time.Time, rows func([]T) [][]any) *Writer[T] {
	return &Writer[T]{db: a.db, stage: a.begin(ctx, t, study, now), rows: rows, stop: func() bool { return false }}
}

// Begin is Open for a clinical.RecordWriter, which Commit or Abort ends:
// when ctx ends first, the write is aborted, so that a writer its caller
// forgot leaves nothing staged.
func Begin[T any](ctx context.Context, a *Area, t Table, study string, now time.Time, rows func([]T) [][]any) (clinical.RecordWriter[T], error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := Open(ctx, a, t, study, now, rows)
	w.begun = ctx
	w.stop = context.AfterFunc(ctx, func() { w.end(w.ended()) })
	return w, nil
}

// CommitLazily has the chunks written from now on stored in transactions
// of session (sqldb.LazySession): on PostgreSQL their commits do not
// wait for the server's disk, about 3.5 ms each on this project's
// machines. The transaction that publishes them (PublishTx) must confirm
// session before it commits, which makes them durable with it.
func (w *Writer[T]) CommitLazily(session *sqldb.LazySession) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stage != nil {
		w.stage.commitLazily(session)
	}
}

// Write stages one chunk in a transaction of its own. When it fails, the
// write is over: what was staged is deleted and Commit fails too.
func (w *Writer[T]) Write(ctx context.Context, records []T) error {
	_, err := w.Put(ctx, records)
	return err
}

// Put is Write, saying what the chunk changes.
func (w *Writer[T]) Put(ctx context.Context, records []T) (clinical.Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stage == nil {
		return clinical.Summary{}, w.over
	}
	if err := w.ended(); err != nil {
		w.endLocked(err)
		return clinical.Summary{}, err
	}
	sum, err := w.stage.Put(ctx, w.rows(records))
	if err != nil {
		w.endLocked(fmt.Errorf("an earlier chunk failed: %w", err))
		return clinical.Summary{}, err
	}
	w.sum.Add(sum)
	return sum, nil
}

// Summary is what the chunks written change together.
func (w *Writer[T]) Summary() clinical.Summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sum.Summary()
}

// PublishTx makes every chunk written visible within tx (Stage.PublishTx);
// the caller then calls Close, saying whether tx committed.
func (w *Writer[T]) PublishTx(ctx context.Context, tx *sql.Tx) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stage == nil {
		return w.over
	}
	return w.stage.PublishTx(ctx, tx)
}

// Close ends the write: published says PublishTx's transaction
// committed. Either way it deletes what was staged (see Stage.Discard).
func (w *Writer[T]) Close(published bool) {
	why := errAborted
	if published {
		why = errCommitted
	}
	w.end(why)
}

// Commit publishes every chunk written, in one short transaction, and
// tells what they changed together.
func (w *Writer[T]) Commit(ctx context.Context) (clinical.Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stage == nil {
		return clinical.Summary{}, w.over
	}
	for _, err := range []error{w.ended(), ctx.Err()} {
		if err != nil {
			w.endLocked(err)
			return clinical.Summary{}, err
		}
	}
	err := w.db.InTx(ctx, func(tx *sql.Tx) error { return w.stage.PublishTx(ctx, tx) })
	if err != nil {
		w.endLocked(fmt.Errorf("the commit failed: %w", err))
		return clinical.Summary{}, err
	}
	w.endLocked(errCommitted)
	return w.sum.Summary(), nil
}

// Abort deletes what was staged; after Commit it does nothing.
func (w *Writer[T]) Abort() { w.end(errAborted) }

// ended says why the context Begin was given has ended, if it has.
func (w *Writer[T]) ended() error {
	if w.begun == nil || w.begun.Err() == nil {
		return nil
	}
	return fmt.Errorf("the write's context ended: %w", context.Cause(w.begun))
}

func (w *Writer[T]) end(why error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endLocked(why)
}

// endLocked ends the write, if it is not over, for why, deleting what it
// staged.
func (w *Writer[T]) endLocked(why error) {
	if w.stage == nil {
		return
	}
	w.stop()
	stage := w.stage
	w.stage, w.over = nil, why
	if err := stage.Discard(context.Background(), why == errCommitted); err != nil { // bounded
		slog.Warn("deleting what an upload staged failed; a later upload's sweep deletes it", "err", err)
	}
}

// Put stores study's records of t, made rows of by rows, all or nothing:
// staged, then published in a short transaction of its own.
func Put[T any](ctx context.Context, a *Area, t Table, study string, now time.Time, rows func([]T) [][]any, records []T) (clinical.Summary, error) {
	w := Open(ctx, a, t, study, now, rows)
	defer w.Abort() // after Commit, does nothing
	if _, err := w.Put(ctx, records); err != nil {
		return clinical.Summary{}, err
	}
	return w.Commit(ctx)
}
