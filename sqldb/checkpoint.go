package sqldb

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// checkpointer copies the pages committed to a SQLite file's write-ahead
// log into the database file when writes pause.
//
// SQLite's own automatic checkpoint runs inside the commit that finds the
// log past 1,000 pages, and ends with a sync of the database file. Here a
// sync took 20–50 ms, during which the commit held this process's write
// turn (see Writing): every other write waited. Checking the pilot's 306
// subjects right after its upload met three or four such stalls, a fifth
// of its time. Connections here have the
// automatic checkpoint off (see sqliteDSN); the checkpointer runs a
// PASSIVE checkpoint, which blocks no reader or writer, once writes have
// paused for checkpointQuiet, or checkpointMaxDelay after the first write
// it has not copied if they never pause. A quiet database is so
// checkpointed, and its log synced, within a fraction of a second of its
// last write, where SQLite's own waits for 1,000 pages.
//
// Processes sharing the file each run one; SQLite lets one checkpoint run
// at a time. The last connection to close checkpoints what is left.
//
// A PASSIVE checkpoint copies the log's pages but never empties the log:
// the next write starts the log over only if no reader was reading from
// it, and under steady load one always is. During a 10-minute soak (reads
// every few milliseconds beside uploads of 2,000,000 lab results) the log
// so grew past 1.8 GB. Once a checkpoint has copied a log of truncateFrames
// pages or more whole, the checkpointer empties it (TRUNCATE) in a write
// turn of its own: that waits for the readers still reading from the log,
// which take milliseconds, and for at most truncateWait.
type checkpointer struct {
	db    *DB
	wake  chan struct{} // holds one token: a write not yet checkpointed
	stop  context.CancelFunc
	ended chan struct{}

	truncateFrames atomic.Int64 // see truncate; a test's to change
}

const (
	checkpointQuiet    = 100 * time.Millisecond
	checkpointMaxDelay = 2 * time.Second
	// checkpointEvery bounds how long writes made outside Writing,
	// which do not wake the checkpointer, wait.
	checkpointEvery = time.Minute
	// truncateFrames is how long a log grows before it is emptied: 64 MiB
	// of 8 KiB pages.
	truncateFrames = 8192
	// truncateWait bounds how long emptying the log holds the process's
	// write turn.
	truncateWait = 500 * time.Millisecond
)

// startCheckpointer starts db's checkpointer; stopCheckpointer ends it.
func (db *DB) startCheckpointer() {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: stop, ended: make(chan struct{})}
	c.truncateFrames.Store(truncateFrames)
	db.checkpoints = c
	go func() { // ends when stopCheckpointer cancels ctx
		defer close(c.ended)
		c.run(ctx)
	}()
}

// stopCheckpointer ends the checkpointer, interrupting a checkpoint in
// progress (the log keeps the pages), waits for it, and checkpoints what
// is left: a process closing its database has its writes synced even
// when another process keeps the file open (SQLite checkpoints on close
// only for the last connection to the file).
func (db *DB) stopCheckpointer() {
	if c := db.checkpoints; c != nil {
		c.stop()
		<-c.ended
		c.checkpoint(context.Background())
	}
}

// wrote tells the checkpointer that a write committed; it never blocks.
func (c *checkpointer) wrote() {
	if c == nil {
		return
	}
	select {
	case c.wake <- struct{}{}:
	default: // it knows already
	}
}

func (c *checkpointer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-time.After(checkpointEvery):
		}
		if !c.pause(ctx) {
			return
		}
		c.checkpoint(ctx)
	}
}

func (c *checkpointer) checkpoint(ctx context.Context) {
	var busy, logged, copied int
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logged, &copied); err != nil {
		if ctx.Err() == nil {
			slog.Warn("SQLite checkpoint failed; the write-ahead log keeps the pages until the next one", "db", c.db.String(), "err", err)
		}
		return
	}
	if int64(logged) >= c.truncateFrames.Load() && copied == logged {
		c.truncate(ctx)
	}
}

// truncate empties the write-ahead log, all of whose pages a checkpoint
// has copied: within a write turn (other writes of the process wait for
// it rather than in SQLite's busy handler), waiting for the readers
// still reading from the log for at most truncateWait. When it cannot,
// a later checkpoint tries again.
func (c *checkpointer) truncate(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, truncateWait)
	defer cancel()
	if err := c.db.takeWriteTurn(ctx); err != nil {
		return // writes go on: the next pause
	}
	defer c.db.endWriteTurn(false)
	if _, err := c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil && ctx.Err() == nil {
		slog.Debug("emptying the SQLite write-ahead log failed; a later checkpoint tries again", "db", c.db.String(), "err", err)
	}
}

// pause waits until no write has come for checkpointQuiet, or for
// checkpointMaxDelay in all; false when ctx ends first.
func (c *checkpointer) pause(ctx context.Context) bool {
	longest := time.NewTimer(checkpointMaxDelay)
	defer longest.Stop()
	quiet := time.NewTimer(checkpointQuiet)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-c.wake:
			quiet.Reset(checkpointQuiet)
		case <-quiet.C:
			return true
		case <-longest.C:
			return true
		}
	}
}
