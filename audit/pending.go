package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"sync"

	"github.com/trialwatch/trialwatch/sqldb"
)

// Pending is the audit record of the change a request is making. The
// access layer starts one for every changing route; the handler describes
// the change (Describe), and the store that makes it writes the record in
// the same transaction (WriteTx), so the change and its record commit
// together. Whatever was not written that way the access layer appends
// once the handler succeeded: every change gets exactly one record.
type Pending struct {
	mu      sync.Mutex
	rec     Record
	log     *Log
	written bool
}

// NewPending starts the record r for log.
func NewPending(log *Log, r Record) *Pending { return &Pending{log: log, rec: r} }

type pendingKey struct{}

// WithPending returns ctx carrying p.
func WithPending(ctx context.Context, p *Pending) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

func pendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// Describe says which entity the request changed and its values before
// and after (any JSON-encodable value, or nil for none). Without a pending
// record in ctx it does nothing, so stores work the same outside requests.
func Describe(ctx context.Context, study, entityID string, old, new any) {
	p := pendingFrom(ctx)
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if study != "" {
		p.rec.Study = study
	}
	p.rec.EntityID = entityID
	p.rec.Old, p.rec.New = JSON(old), JSON(new)
}

// WriteTx appends ctx's pending record within tx, the transaction making
// the change. Without one, or once written, it does nothing. If tx then
// rolls back, the change is undone with its record, and the request fails:
// nothing is left to record.
func WriteTx(ctx context.Context, tx *sql.Tx) error {
	p := pendingFrom(ctx)
	if p == nil || p.log == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.written {
		return nil
	}
	if _, err := p.log.AppendTx(ctx, tx, p.rec); err != nil {
		return err
	}
	p.written = true
	return nil
}

// Flush appends the record in a transaction of its own unless a store
// already wrote it.
func (p *Pending) Flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.written {
		return nil
	}
	if p.log == nil {
		return errors.New("audit: a change was made with no audit trail to record it in")
	}
	if _, err := p.log.Append(ctx, p.rec); err != nil {
		return err
	}
	p.written = true
	return nil
}

// IntendTx appends within tx a record that the request is about to make
// a change it cannot record in the change's own transaction — one that
// spans services, such as a split-mode upload — so tx must commit before
// any of the change does. The record is the pending one's with its action
// suffixed ".started" and intent as its new value; the pending record
// itself is written once the change is made, so a change cut short leaves
// its intent in the trail. Without a pending record in ctx it does
// nothing.
func IntendTx(ctx context.Context, tx *sql.Tx, entityID string, intent any) error {
	p := pendingFrom(ctx)
	if p == nil || p.log == nil {
		return nil
	}
	p.mu.Lock()
	r := p.rec
	p.mu.Unlock()
	r.Action += ".started"
	r.EntityID, r.Old, r.New = entityID, "", JSON(intent)
	_, err := p.log.AppendTx(ctx, tx, r)
	return err
}

// jsonText encodes v for a record; json.RawMessage is taken as encoded.
func JSON(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case json.RawMessage:
		return string(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"unencodable": err.Error()})
	}
	return string(b)
}

// A Change is what one change did: the entity it changed and its values
// before and after (see Describe).
type Change struct {
	EntityID string
	Old, New any
}

// InTx makes a change in a transaction of db with ctx's pending record,
// described by what fn returns, written in the same transaction.
func InTx(ctx context.Context, db *sqldb.DB, study string, fn func(tx *sql.Tx) (Change, error)) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		c, err := fn(tx)
		if err != nil {
			return err
		}
		Describe(ctx, study, c.EntityID, c.Old, c.New)
		return WriteTx(ctx, tx)
	})
}
