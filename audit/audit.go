// Package audit keeps trialwatch's audit trail (21 CFR 11.10(e)): who did
// what, when (UTC), to which entity, with the value before and after, for
// uploads, data changes, signal reviews, users, tokens and logins.
//
// The trail is one table, audit_log, that only ever grows:
//
//   - The database refuses changes: triggers abort every UPDATE and DELETE
//     (and, on PostgreSQL, TRUNCATE) of audit_log.
//   - Records form a hash chain. Seq counts 1, 2, 3… without gaps, and each
//     record's Hash is the SHA-256 of its fields and of the previous record's
//     Hash, so Verify finds a row edited, deleted, reordered or inserted by
//     someone who got past the triggers (a database owner can drop them).
//   - Appends are serialised (an advisory lock on PostgreSQL, SQLite's
//     single writer) so concurrent writers, in any process, extend one chain.
//     The primary key on seq backs this up: two writers that computed the
//     same seq cannot both commit. Records of no other change (Append) are
//     committed in groups, several to a transaction (see group.go).
//
// A chain alone does not stop someone who rewrites it from the tampered row
// to the end, or who cuts off its tail: keep a copy of the last Seq and Hash
// elsewhere (an export, a signed report) to anchor it.
//
// Record a change with AppendTx in the transaction that makes it, so a
// change is never stored without its record.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Record is one audit entry.
type Record struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`     // UTC, millisecond precision
	Actor    string    `json:"actor"`  // user name, "cli:<os user>", or "system"
	Role     string    `json:"role"`   // actor's role, "" when unknown (failed login)
	Study    string    `json:"study"`  // "" when not about one study (users, tokens, logins)
	Entity   string    `json:"entity"` // "upload", "signal", "settings", "check", "user", "token", "login", …
	EntityID string    `json:"entity_id"`
	Action   string    `json:"action"`           // "create", "update", "status", "disable", "revoke", "failed", "succeeded", …
	Old      string    `json:"old,omitempty"`    // JSON text of the value before, "" when none
	New      string    `json:"new,omitempty"`    // JSON text of the value after, "" when none
	Source   string    `json:"source,omitempty"` // client address or "cli"
	PrevHash string    `json:"prev_hash"`        // hex SHA-256 of the previous record, "" for the first
	Hash     string    `json:"hash"`             // hex SHA-256 over PrevHash and every field above
}

// Log is the audit trail in a database.
type Log struct {
	db      *sqldb.DB
	appends groups // of records Append writes, see group.go
}

// Open applies the audit migrations and returns the log.
func Open(ctx context.Context, db *sqldb.DB) (*Log, error) {
	if err := db.Migrate(ctx, "audit_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Log{db: db, appends: newGroups()}, nil
}

// advisoryLock is the PostgreSQL advisory-lock key that serialises appends
// ("twaudit" and a version byte).
const advisoryLock int64 = 0x7477617564697401

const columns = `seq, at_ms, actor, role, study, entity, entity_id, action, old_value, new_value, source, prev_hash, hash`

// AppendTx records r within tx, the transaction that makes the change it
// describes, and returns r as stored: Seq, At (now if zero; always UTC,
// truncated to the millisecond), PrevHash and Hash are set here. From here
// until tx ends no other append can proceed, so call it late in tx.
func (l *Log) AppendTx(ctx context.Context, tx *sql.Tx, r Record) (Record, error) {
	out, err := l.appendAllTx(ctx, tx, []Record{r})
	if err != nil {
		return Record{}, err
	}
	return out[0], nil
}

// appendAllTx is AppendTx of several records, in order, with one look-up
// of the last record and one lock for them all.
func (l *Log) appendAllTx(ctx context.Context, tx *sql.Tx, recs []Record) ([]Record, error) {
	for i := range recs {
		if err := recs[i].check(); err != nil {
			return nil, err
		}
	}
	if l.db.Dialect == sqldb.Postgres {
		// Held until tx ends, so the last record read below stays the last.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryLock); err != nil {
			return nil, fmt.Errorf("audit: lock: %w", err)
		}
	}
	// On SQLite tx is an immediate transaction: it has held the database's
	// write lock since it began.
	var last int64
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audit: last record: %w", err)
	}
	out := make([]Record, len(recs))
	rows := make([][]any, len(recs))
	now := time.Now()
	for i, r := range recs {
		if r.At.IsZero() {
			r.At = now
		}
		r.At = time.UnixMilli(r.At.UnixMilli()).UTC()
		r.Seq, r.PrevHash = last+1, prev
		r.Hash = r.hash()
		last, prev = r.Seq, r.Hash
		out[i] = r
		rows[i] = []any{r.Seq, r.At.UnixMilli(), r.Actor, r.Role, r.Study, r.Entity, r.EntityID, r.Action, r.Old, r.New, r.Source, r.PrevHash, r.Hash}
	}
	if err := l.db.WriteRows(ctx, tx, `INSERT INTO audit_log (`+columns+`) VALUES `, "", 13, rows); err != nil {
		return nil, fmt.Errorf("audit: append: %w", err)
	}
	return out, nil
}

// check refuses a record that would be useless or that one backend would
// store and the other refuse (PostgreSQL text cannot hold NUL or bad UTF-8).
func (r *Record) check() error {
	for _, f := range []struct{ name, v string }{
		{"actor", r.Actor}, {"entity", r.Entity}, {"action", r.Action},
	} {
		if f.v == "" {
			return fmt.Errorf("audit: record without %s", f.name)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"actor", r.Actor}, {"role", r.Role}, {"study", r.Study}, {"entity", r.Entity}, {"entity_id", r.EntityID},
		{"action", r.Action}, {"old", r.Old}, {"new", r.New}, {"source", r.Source},
	} {
		if err := checkText(f.v); err != nil {
			return fmt.Errorf("audit: record %s: %w", f.name, err)
		}
	}
	for _, f := range []struct{ name, v string }{{"old", r.Old}, {"new", r.New}} {
		if f.v != "" && !json.Valid([]byte(f.v)) {
			return fmt.Errorf("audit: record %s: not JSON: %.80q", f.name, f.v)
		}
	}
	return nil
}

func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for i := range len(s) {
		if s[i] == 0 {
			return errors.New("contains a NUL byte")
		}
	}
	return nil
}

// hashVersion starts every hashed encoding, so a later change of the
// encoding can be told apart.
const hashVersion = "trialwatch-audit-v1"

// hash is the hex SHA-256 of the record's canonical encoding: every field
// but Hash, in declaration order, each as an 8-byte big-endian length then
// its bytes (Seq and At as 8-byte big-endian integers, At in Unix ms).
// Length prefixes keep field boundaries unambiguous: ("ab","c") and
// ("a","bc") hash differently.
func (r *Record) hash() string {
	h := sha256.New()
	str := func(s string) {
		writeUint(h, uint64(len(s)))
		h.Write([]byte(s))
	}
	str(hashVersion)
	writeUint(h, 8)
	writeUint(h, uint64(r.Seq))
	writeUint(h, 8)
	writeUint(h, uint64(r.At.UnixMilli()))
	for _, s := range []string{r.Actor, r.Role, r.Study, r.Entity, r.EntityID, r.Action, r.Old, r.New, r.Source, r.PrevHash} {
		str(s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeUint(h hash.Hash, v uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	h.Write(b[:])
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

func scan(s scanner) (Record, error) {
	var r Record
	var at int64
	err := s.Scan(&r.Seq, &at, &r.Actor, &r.Role, &r.Study, &r.Entity, &r.EntityID, &r.Action,
		&r.Old, &r.New, &r.Source, &r.PrevHash, &r.Hash)
	r.At = time.UnixMilli(at).UTC()
	return r, err
}

// Break is the first place the chain fails.
type Break struct {
	Seq    int64
	Reason string
}

func (b *Break) String() string {
	return fmt.Sprintf("audit chain broken at seq %d: %s", b.Seq, b.Reason)
}

// progressEvery is how many records Verify checks between progress calls.
const progressEvery = 1000

// Verify reads the whole trail in Seq order, one row at a time, and
// recomputes every hash. It returns how many records it checked and, if the
// chain fails, where it first fails; err is for failures to read. progress,
// if not nil, is called every so often and once at the end.
func (l *Log) Verify(ctx context.Context, progress func(checked int64)) (checked int64, brk *Break, err error) {
	rows, err := l.db.QueryContext(ctx, `SELECT `+columns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var prevSeq int64
	var prevHash string
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return checked, nil, fmt.Errorf("audit: verify: %w", err)
		}
		checked++
		switch {
		case r.Seq != prevSeq+1:
			return checked, &Break{r.Seq, fmt.Sprintf("record %d is missing (seq %d follows %d)", prevSeq+1, r.Seq, prevSeq)}, nil
		case r.PrevHash != prevHash:
			return checked, &Break{r.Seq, fmt.Sprintf("prev_hash %q is not the hash of record %d, %q", r.PrevHash, prevSeq, prevHash)}, nil
		case r.hash() != r.Hash:
			return checked, &Break{r.Seq, "hash does not match the record's contents: the record was changed"}, nil
		}
		prevSeq, prevHash = r.Seq, r.Hash
		if progress != nil && checked%progressEvery == 0 {
			progress(checked)
		}
	}
	if err := rows.Err(); err != nil {
		return checked, nil, fmt.Errorf("audit: verify: %w", err)
	}
	if progress != nil && (checked == 0 || checked%progressEvery != 0) {
		progress(checked)
	}
	return checked, nil, nil
}
