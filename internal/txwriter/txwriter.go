// Package txwriter writes a stream of record chunks into one database
// transaction: the clinical.RecordWriter of the data services' stores.
package txwriter

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Put writes one chunk of records within tx, as a store's PutTx does.
type Put[T any] func(ctx context.Context, tx *sql.Tx, records []T) (clinical.Summary, error)

// Writer is the clinical.RecordWriter that writes every chunk with put in
// one transaction, committed by Commit. It is not for concurrent use;
// ending the context it was begun with aborts it from anywhere.
type Writer[T any] struct {
	tx    *sqldb.WriteTx // nil once the write is over
	begun context.Context
	put   Put[T]
	sum   clinical.Tally
	over  error // why the write is over
}

var (
	errCommitted = errors.New("the write is already committed")
	errAborted   = errors.New("the write was aborted")
)

// Begin begins a write in db; see sqldb.BeginWrite for what the
// transaction holds (on SQLite, every other write of the process waits
// for it to end) and what ctx bounds (the whole write).
func Begin[T any](ctx context.Context, db *sqldb.DB, put Put[T]) (clinical.RecordWriter[T], error) {
	tx, err := db.BeginWrite(ctx)
	if err != nil {
		return nil, err
	}
	return &Writer[T]{tx: tx, begun: ctx, put: put}, nil
}

// Write writes one chunk. When it fails, the write is over: the
// transaction is rolled back and Commit fails too.
func (w *Writer[T]) Write(ctx context.Context, records []T) error {
	if w.tx == nil {
		return w.over
	}
	sum, err := w.put(ctx, w.tx.Tx, records)
	if err != nil {
		err = w.abandoned(err)
		w.end(fmt.Errorf("an earlier chunk failed: %w", err))
		return err
	}
	w.sum.Add(sum)
	return nil
}

// Commit commits every chunk written and tells what they did together.
func (w *Writer[T]) Commit(ctx context.Context) (clinical.Summary, error) {
	if w.tx == nil {
		return clinical.Summary{}, w.over
	}
	if err := ctx.Err(); err != nil {
		w.end(err)
		return clinical.Summary{}, err
	}
	tx := w.tx
	w.tx, w.over = nil, errCommitted
	if err := tx.Commit(); err != nil {
		err = w.abandoned(err)
		w.over = fmt.Errorf("the commit failed: %w", err)
		return clinical.Summary{}, err
	}
	return w.sum.Summary(), nil
}

// Abort rolls back what was written; after Commit it does nothing.
func (w *Writer[T]) Abort() { w.end(errAborted) }

func (w *Writer[T]) end(why error) {
	if w.tx == nil {
		return
	}
	w.tx.Rollback()
	w.tx, w.over = nil, why
}

// abandoned names the reason when the context of the whole write ended:
// database/sql then rolled the transaction back, and err only says the
// transaction is done.
func (w *Writer[T]) abandoned(err error) error {
	if cause := context.Cause(w.begun); cause != nil && errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("the write's context ended: %w", cause)
	}
	return err
}
