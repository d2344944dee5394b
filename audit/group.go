package audit

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Records appended in transactions of their own (Append: a login's, a
// change's written after its answer) are committed in groups: under a
// flood of refused logins each record would otherwise cost a transaction
// of its own, and on SQLite a turn of the database's only write lock,
// taken from the checks and uploads waiting for it.
//
// The appenders themselves do the committing, one at a time: an append
// joins the open group, then waits until either its group is committed
// or the committer's turn is free, and takes the turn to commit the open
// group, its own, whole, while later appends gather in the next group.
// One group commits at a time, so a flood of appends takes one write turn
// at a time however many arrive, and groups the more, the longer the
// other writers keep the turn; with the writer idle and appends far
// apart, each commits at once, alone, without waiting for company. No
// goroutine runs apart from the appenders, so none is left to stop or to
// flush at shutdown: every Append returns once its record is committed
// (or its group failed), and a server's shutdown waits for its handlers.
//
// A group holds at most maxGroupRecords; appends that find it full wait
// until its committer takes it (back-pressure, not loss), or until their
// context ends, before their record joins anything. Once it has joined,
// a record is committed whatever becomes of its appender's context: the
// wait is bounded by two commits, each of at most groupDeadline.
const (
	maxGroupRecords = 256
	groupDeadline   = 10 * time.Second
)

// groups is a Log's grouping of Append's records.
type groups struct {
	turn chan struct{} // one slot: held by the appender committing a group

	mu   sync.Mutex
	open *group // the group new records join; nil when none is open

	records, transactions atomic.Int64 // committed by Append
	waiting               atomic.Int64 // appends not yet returned
}

func newGroups() groups { return groups{turn: make(chan struct{}, 1)} }

// group is records committed in one transaction.
type group struct {
	recs  []Record
	taken chan struct{} // closed when an appender takes the group to commit it

	done   chan struct{} // closed once committed, or failed
	stored []Record      // as committed, set before done closes
	err    error
}

// Append records r in a transaction of its own (shared with other
// appends, see groups), for events that change nothing else (a failed
// login). It returns r as stored once it is committed. ctx bounds only
// the wait for room in a full group: a record that has joined a group is
// committed even if ctx ends meanwhile.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	if err := r.check(); err != nil {
		return Record{}, err // before joining: a bad record fails alone
	}
	l.appends.waiting.Add(1)
	defer l.appends.waiting.Add(-1)
	g, i, err := l.appends.join(ctx, r)
	if err != nil {
		return Record{}, err
	}
	for {
		select {
		case <-g.done:
			if g.err != nil {
				return Record{}, g.err
			}
			return g.stored[i], nil
		case l.appends.turn <- struct{}{}:
			l.commitTurn(ctx, g)
		}
	}
}

// join adds r to the open group, opening one if none is; it waits while
// the open group is full.
func (gs *groups) join(ctx context.Context, r Record) (*group, int, error) {
	for {
		gs.mu.Lock()
		g := gs.open
		if g == nil {
			g = &group{taken: make(chan struct{}), done: make(chan struct{})}
			gs.open = g
		}
		if len(g.recs) < maxGroupRecords {
			g.recs = append(g.recs, r)
			i := len(g.recs) - 1
			gs.mu.Unlock()
			return g, i, nil
		}
		gs.mu.Unlock()
		select {
		case <-g.taken: // a new group opens
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("audit: waiting for room to append: %w", ctx.Err())
		}
	}
}

// commitTurn, called holding the turn, commits g unless an appender
// already took it, and ends the turn. A group not taken is the open one:
// groups are taken in the order they opened.
func (l *Log) commitTurn(ctx context.Context, g *group) {
	defer func() { <-l.appends.turn }()
	gs := &l.appends
	gs.mu.Lock()
	select {
	case <-g.taken:
		gs.mu.Unlock()
		return // committed, or being committed by the appender that took it
	default:
	}
	close(g.taken)
	gs.open = nil
	gs.mu.Unlock()
	// Not cancelled with this appender's context: the group holds the
	// records of others, who wait for it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupDeadline)
	defer cancel()
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		g.stored, err = l.appendAllTx(ctx, tx, g.recs)
		return err
	})
	if err != nil {
		g.stored, g.err = nil, err
	} else {
		gs.records.Add(int64(len(g.recs)))
		gs.transactions.Add(1)
	}
	close(g.done)
}

// AppendStats counts Append's work.
type AppendStats struct {
	Records      int64 // committed
	Transactions int64 // that committed them
	Waiting      int64 // appends under way: waiting for room, their turn or their commit
}

// AppendStats tells how Append's records were grouped so far.
func (l *Log) AppendStats() AppendStats {
	return AppendStats{l.appends.records.Load(), l.appends.transactions.Load(), l.appends.waiting.Load()}
}
