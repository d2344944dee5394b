// Package operator manages users and tokens on behalf of a person with
// direct access to the database (the user and token commands, the demo's
// set-up), through the same account logic and audit trail as the API.
package operator

import (
	"context"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Operator manages users and tokens as a person with direct access to
// the database does (the command line, the demo's set-up): an admin of
// every study (Superuser), each change made in one transaction with its
// audit record, which names the operator and where the change came from,
// as the router's record of the same change through the API would.
type Operator struct {
	admin  *access.AccountAdmin
	trail  *audit.Log
	as     auth.Identity
	source string
}

// New is actor managing the users of store in db, the changes
// recorded in trail with source (e.g. "cli").
func New(db *sqldb.DB, users *auth.Store, trail *audit.Log, actor, source string) *Operator {
	return &Operator{admin: access.NewAccountAdmin(db, users), trail: trail, as: access.Superuser(actor), source: source}
}

// Open opens db's users and audit trail for actor.
func Open(ctx context.Context, db *sqldb.DB, actor, source string) (*Operator, error) {
	users, err := auth.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	trail, err := audit.Open(ctx, db)
	if err != nil {
		return nil, err
	}
	return New(db, users, trail, actor, source), nil
}

// Trail is the audit trail the operator's changes go to.
func (o *Operator) Trail() *audit.Log { return o.trail }

// audited returns ctx carrying the audit record of one change, as the
// router starts one for each changing request.
func (o *Operator) audited(ctx context.Context, entity, action string) context.Context {
	return audit.WithPending(ctx, audit.NewPending(o.trail, audit.Record{Actor: o.as.Name, Entity: entity, Action: action, Source: o.source}))
}

// Users lists every user.
func (o *Operator) Users(ctx context.Context) ([]auth.User, error) { return o.admin.Users(ctx, o.as) }

// AddUser adds a user.
func (o *Operator) AddUser(ctx context.Context, in access.NewUser) (auth.User, error) {
	return o.admin.AddUser(o.audited(ctx, "user", "create"), o.as, in)
}

// SetPassword sets or, with "", removes the password name logs in with.
func (o *Operator) SetPassword(ctx context.Context, name, password string) (auth.User, error) {
	return o.admin.SetPassword(o.audited(ctx, "user", "password"), o.as, name, password)
}

// DisableUser stops name from logging in and revokes its tokens.
func (o *Operator) DisableUser(ctx context.Context, name string) (auth.User, error) {
	return o.admin.DisableUser(o.audited(ctx, "user", "disable"), o.as, name)
}

// EnableUser lets a disabled user log in again.
func (o *Operator) EnableUser(ctx context.Context, name string) (auth.User, error) {
	return o.admin.EnableUser(o.audited(ctx, "user", "enable"), o.as, name)
}

// Tokens lists the tokens of user, or of everyone with "".
func (o *Operator) Tokens(ctx context.Context, user string) ([]auth.TokenInfo, error) {
	return o.admin.Tokens(ctx, o.as, user)
}

// CreateToken makes a token for user, valid for ttl (0: no expiry); the
// plain token is returned once, only its hash is kept.
func (o *Operator) CreateToken(ctx context.Context, user, label string, ttl time.Duration) (string, auth.TokenInfo, error) {
	return o.admin.CreateToken(o.audited(ctx, "token", "create"), o.as, user, label, ttl)
}

// RevokeToken revokes token id.
func (o *Operator) RevokeToken(ctx context.Context, id int64) (auth.TokenInfo, error) {
	return o.admin.RevokeToken(o.audited(ctx, "token", "revoke"), o.as, id)
}
