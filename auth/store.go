package auth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/trialwatch/trialwatch/sqldb"
)

//go:embed migrations
var migrations embed.FS

// User is an account as stored; its password hash never leaves the store.
type User struct {
	ID          int64
	Name        string
	Role        Role
	Grants      []Grant
	Disabled    bool
	HasPassword bool
	Created     time.Time
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID       int64
	UserID   int64
	User     string
	Label    string
	Created  time.Time
	Expires  time.Time // zero = never
	Revoked  time.Time // zero = active
	LastUsed time.Time // zero = never used
}

// Store keeps users, their grants and their tokens.
type Store struct {
	db       *sqldb.DB
	hashing  *hashing // every bcrypt hash and comparison takes a turn of it
	hashCost int      // bcrypt cost of new hashes and of the dummy one
}

// StoreOption configures a Store.
type StoreOption func(*storeConfig)

type storeConfig struct{ hashWorkers, hashQueue, hashCost int }

// WithHashing runs at most workers password hashes at once (each takes a
// CPU core for about a quarter of a second), lets at most queue more wait
// for a turn, and refuses the rest with ErrBusy at once. The default is
// DefaultHashWorkers and DefaultHashQueue. It panics on fewer
// than one worker or a negative queue, as NewLimiter does on bad limits:
// check values from users first.
func WithHashing(workers, queue int) StoreOption {
	return func(c *storeConfig) { c.hashWorkers, c.hashQueue = workers, queue }
}

// WithHashCost makes new password hashes, and the hash a login of an
// unknown name is compared with, of bcrypt cost cost (default 12: about
// a quarter of a second of a core); stored hashes keep the cost they
// were made with. Tests under the race detector, which makes bcrypt about
// twenty times slower, lower it by four to keep a hash's time.
func WithHashCost(cost int) StoreOption {
	return func(c *storeConfig) { c.hashCost = cost }
}

// Open applies the auth migrations and returns the store.
func Open(ctx context.Context, db *sqldb.DB, opts ...StoreOption) (*Store, error) {
	cfg := storeConfig{hashWorkers: DefaultHashWorkers(), hashQueue: DefaultHashQueue, hashCost: hashCost}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.hashCost < bcrypt.MinCost || cfg.hashCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d: want %d to %d", cfg.hashCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	pool := newHashing(cfg.hashWorkers, cfg.hashQueue)
	if err := db.Migrate(ctx, "auth_schema_version", migrations); err != nil {
		return nil, err
	}
	dummyHash(cfg.hashCost) // so the first login of an unknown name is not slower than the rest
	return &Store{db: db, hashing: pool, hashCost: cfg.hashCost}, nil
}

// hashPassword hashes a new password within a hashing turn.
func (s *Store) hashPassword(ctx context.Context, password string) (hash string, err error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	if perr := s.hashing.do(ctx, func() { hash, err = hashPassword(password, s.hashCost) }); perr != nil {
		return "", perr
	}
	return hash, err
}

// inTx runs fn in the caller's transaction, or in one of its own when tx
// is nil, so that callers can write their audit record atomically with
// the change.
func (s *Store) inTx(ctx context.Context, tx *sql.Tx, fn func(*sql.Tx) error) error {
	if tx != nil {
		return fn(tx)
	}
	return s.db.InTx(ctx, fn)
}

// querier is what reads need from *sql.DB and *sql.Tx alike.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

const maxLabel = 200

// checkUser validates a new user's name, role and grants and returns the
// grants without duplicates.
func checkUser(name string, role Role, grants []Grant) ([]Grant, error) {
	if !nameRE.MatchString(name) {
		return nil, invalidf("user name %q: want 1 to 64 characters of A-Z a-z 0-9 . _ @ -", name)
	}
	if !slices.Contains(roles, role) {
		return nil, invalidf("user %s: unknown role %q", name, role)
	}
	var out []Grant
	for _, g := range grants {
		if g.Study == "" || g.Site == "" || strings.TrimSpace(g.Study) != g.Study || strings.TrimSpace(g.Site) != g.Site {
			return nil, invalidf("user %s: grant %q/%q: blank study or site, or surrounding spaces", name, g.Study, g.Site)
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	switch role {
	case RoleSite:
		if len(out) == 0 {
			return nil, invalidf("user %s: a site user needs at least one grant of named sites", name)
		}
		for _, g := range out {
			if g.Site == AllSites {
				return nil, invalidf("user %s: a site user is granted named sites, not all of study %s", name, g.Study)
			}
		}
	case RoleMonitor, RoleAdmin:
		if role == RoleMonitor && len(out) == 0 {
			return nil, invalidf("user %s: a monitor needs at least one study", name)
		}
		for _, g := range out {
			if g.Site != AllSites {
				return nil, invalidf("user %s: a %s is granted whole studies (site %q), not site %s of %s", name, role, AllSites, g.Site, g.Study)
			}
		}
	case RoleOps:
		if len(out) > 0 {
			return nil, invalidf("user %s: ops users see no study data and take no grants", name)
		}
	}
	return out, nil
}

// AddUser creates a user. password "" means the user cannot log in with a
// password (tokens only). A site user needs grants of named sites; monitor
// grants cover whole studies; an admin's grants limit it to those studies
// (none: all); ops takes none. A taken name is ErrExists.
func (s *Store) AddUser(ctx context.Context, tx *sql.Tx, name string, role Role, grants []Grant, password string, now time.Time) (User, error) {
	grants, err := checkUser(name, role, grants)
	if err != nil {
		return User{}, err
	}
	var hash sql.NullString
	if password != "" {
		// Hashed before the transaction: bcrypt takes a quarter second,
		// too long to hold SQLite's write lock.
		if hash.String, err = s.hashPassword(ctx, password); err != nil {
			return User{}, err
		}
		hash.Valid = true
	}
	u := User{Name: name, Role: role, Grants: grants, HasPassword: hash.Valid, Created: time.UnixMilli(now.UnixMilli()).UTC()}
	err = s.inTx(ctx, tx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO NOTHING RETURNING id`, name, string(role), hash, now.UnixMilli()).Scan(&u.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %s: %w", name, ErrExists)
		} else if err != nil {
			return err
		}
		for _, g := range grants {
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_grants (user_id, study, site) VALUES ($1, $2, $3)`, u.ID, g.Study, g.Site); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

const userCols = `id, name, role, password_hash IS NOT NULL, disabled_at IS NOT NULL, created_at`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	err := sc.Scan(&u.ID, &u.Name, &u.Role, &u.HasPassword, &u.Disabled, &created)
	u.Created = time.UnixMilli(created).UTC()
	return u, err
}

// Users lists all users by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	grants, err := s.grants(ctx, s.db, 0)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Grants = grants[out[i].ID]
	}
	return out, nil
}

// User returns one user, or ErrUnknownUser.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	return s.user(ctx, s.db, name)
}

func (s *Store) user(ctx context.Context, q querier, name string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", name, ErrUnknownUser)
	} else if err != nil {
		return User{}, err
	}
	grants, err := s.grants(ctx, q, u.ID)
	u.Grants = grants[u.ID]
	return u, err
}

// grants returns the grants of one user, or of everyone when userID is 0.
func (s *Store) grants(ctx context.Context, q querier, userID int64) (map[int64][]Grant, error) {
	query, args := `SELECT user_id, study, site FROM user_grants ORDER BY user_id, study, site`, []any{}
	if userID != 0 {
		query, args = `SELECT user_id, study, site FROM user_grants WHERE user_id = $1 ORDER BY study, site`, []any{userID}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]Grant{}
	for rows.Next() {
		var id int64
		var g Grant
		if err := rows.Scan(&id, &g.Study, &g.Site); err != nil {
			return nil, err
		}
		out[id] = append(out[id], g)
	}
	return out, rows.Err()
}

// DisableUser stops a user from logging in and revokes all its tokens. The
// user is kept, as the audit trail names it. Disabling a disabled user
// changes nothing.
func (s *Store) DisableUser(ctx context.Context, tx *sql.Tx, name string, now time.Time) (User, error) {
	var u User
	err := s.inTx(ctx, tx, func(tx *sql.Tx) error {
		var err error
		if u, err = s.user(ctx, tx, name); err != nil || u.Disabled {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = $1 WHERE id = $2`, now.UnixMilli(), u.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, now.UnixMilli(), u.ID)
		u.Disabled = true
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// EnableUser lets a disabled user log in again. The tokens revoked when
// it was disabled stay revoked. Enabling an enabled user changes nothing.
func (s *Store) EnableUser(ctx context.Context, tx *sql.Tx, name string) (User, error) {
	var u User
	err := s.inTx(ctx, tx, func(tx *sql.Tx) error {
		var err error
		if u, err = s.user(ctx, tx, name); err != nil || !u.Disabled {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET disabled_at = NULL WHERE id = $1`, u.ID)
		u.Disabled = false
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// SetPassword sets, or with "" removes, the password a user logs in
// with. It does not touch the user's tokens: revoke them to end sessions.
func (s *Store) SetPassword(ctx context.Context, tx *sql.Tx, name, password string, now time.Time) (User, error) {
	var hash any // NULL: no password login
	if password != "" {
		h, err := s.hashPassword(ctx, password) // before the transaction: bcrypt is slow on purpose
		if err != nil {
			return User{}, err
		}
		hash = h
	}
	var u User
	err := s.inTx(ctx, tx, func(tx *sql.Tx) error {
		var err error
		if u, err = s.user(ctx, tx, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, u.ID)
		u.HasPassword = password != ""
		return err
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// CreateToken issues a token for user and returns it in plaintext, the only
// time it is seen. ttl 0 means it never expires.
func (s *Store) CreateToken(ctx context.Context, tx *sql.Tx, user string, label string, ttl time.Duration, now time.Time) (plaintext string, info TokenInfo, err error) {
	if ttl < 0 {
		return "", TokenInfo{}, invalidf("token lifetime %v is negative", ttl)
	}
	if len(label) > maxLabel {
		return "", TokenInfo{}, invalidf("token label longer than %d bytes", maxLabel)
	}
	err = s.inTx(ctx, tx, func(tx *sql.Tx) error {
		u, err := s.user(ctx, tx, user)
		if err != nil {
			return err
		}
		if u.Disabled {
			return fmt.Errorf("user %s: %w", user, ErrDisabled)
		}
		plaintext, info, err = s.insertToken(ctx, tx, u, label, ttl, now)
		return err
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return plaintext, info, nil
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, u User, label string, ttl time.Duration, now time.Time) (string, TokenInfo, error) {
	token := newToken()
	info := TokenInfo{UserID: u.ID, User: u.Name, Label: label, Created: time.UnixMilli(now.UnixMilli()).UTC()}
	var expires sql.NullInt64
	if ttl > 0 {
		info.Expires = time.UnixMilli(now.Add(ttl).UnixMilli()).UTC()
		expires = sql.NullInt64{Int64: info.Expires.UnixMilli(), Valid: true}
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, token_hash, label, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, u.ID, hashToken(token), label, now.UnixMilli(), expires).Scan(&info.ID)
	return token, info, err
}

const tokenCols = `t.id, t.user_id, u.name, t.label, t.created_at, t.expires_at, t.revoked_at, t.last_used_at`

func scanToken(sc interface{ Scan(...any) error }) (TokenInfo, error) {
	var t TokenInfo
	var created int64
	var expires, revoked, used sql.NullInt64
	err := sc.Scan(&t.ID, &t.UserID, &t.User, &t.Label, &created, &expires, &revoked, &used)
	t.Created = time.UnixMilli(created).UTC()
	t.Expires, t.Revoked, t.LastUsed = msTime(expires), msTime(revoked), msTime(used)
	return t, err
}

// msTime turns a nullable unix-ms column into a time, NULL into zero.
func msTime(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

// Tokens lists the tokens of user ("" for everyone's), oldest first,
// revoked and expired ones included.
func (s *Store) Tokens(ctx context.Context, user string) ([]TokenInfo, error) {
	if user != "" {
		if _, err := s.User(ctx, user); err != nil {
			return nil, err
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE $1 = '' OR u.name = $1 ORDER BY t.id`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends a token for good; revoking it again keeps the first
// revocation time. An unknown id is ErrUnknownToken.
func (s *Store) RevokeToken(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (TokenInfo, error) {
	var t TokenInfo
	err := s.inTx(ctx, tx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, now.UnixMilli(), id); err != nil {
			return err
		}
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("token %d: %w", id, ErrUnknownToken)
		}
		return err
	})
	if err != nil {
		return TokenInfo{}, err
	}
	return t, nil
}

// lastUsedEvery is how stale last_used_at may get while the database
// takes writes (see noteUsed): recording every request would turn each
// read into a write.
const lastUsedEvery = time.Minute

// Authenticate returns the identity a token stands for. An unknown or
// malformed token is ErrBadCredentials; a disabled user's token
// ErrDisabled (even though disabling also revoked it, so the caller can
// say why); then ErrRevoked and ErrExpired (at the expiry instant).
func (s *Store) Authenticate(ctx context.Context, token string, now time.Time) (Identity, error) {
	if err := checkToken(token); err != nil {
		return Identity{}, err
	}
	hash := hashToken(token)
	var stored string
	var expires, revoked, used, disabled sql.NullInt64
	id := Identity{}
	err := s.db.QueryRowContext(ctx, `SELECT t.id, t.token_hash, t.expires_at, t.revoked_at, t.last_used_at, u.id, u.name, u.role, u.disabled_at
		FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, hash).
		Scan(&id.TokenID, &stored, &expires, &revoked, &used, &id.UserID, &id.Name, &id.Role, &disabled)
	// The index lookup found the row by hash; comparing again in constant
	// time guards against a backend that matched loosely.
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare([]byte(stored), []byte(hash)) != 1) {
		return Identity{}, ErrBadCredentials
	} else if err != nil {
		return Identity{}, err
	}
	switch {
	case disabled.Valid:
		return Identity{}, ErrDisabled
	case revoked.Valid:
		return Identity{}, ErrRevoked
	case expires.Valid && now.UnixMilli() >= expires.Int64:
		return Identity{}, ErrExpired
	}
	grants, err := s.grants(ctx, s.db, id.UserID)
	if err != nil {
		return Identity{}, err
	}
	id.Grants = grants[id.UserID]
	if !used.Valid || now.Sub(msTime(used)) >= lastUsedEvery {
		s.noteUsed(ctx, id.TokenID, now)
	}
	return id, nil
}

// lastUsedWait bounds the wait of a last_used_at write for the database
// (another process's write on SQLite, a slow PostgreSQL server).
const lastUsedWait = 100 * time.Millisecond

// noteUsed records that token was used at now. It is bookkeeping on the
// path of every request, so it never makes one wait or fail: skipped when
// another write of the process has SQLite's write turn (an upload's
// chunk, a check's findings: the next request of the token after that
// writes it), bounded by lastUsedWait, and a failure is logged. Conditional,
// so concurrent requests with one token write once.
func (s *Store) noteUsed(ctx context.Context, token int64, now time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lastUsedWait)
	defer cancel()
	_, err := s.db.TryWriting(func() error {
		_, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = $1
			WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`,
			now.UnixMilli(), token, now.Add(-lastUsedEvery).UnixMilli())
		return err
	})
	if err != nil {
		slog.Warn("recording when a token was last used failed; a later request records it", "token_id", token, "err", err)
	}
}

// Login checks a user's password and issues a token that expires after
// ttl (which must be positive: a login session always ends). A wrong
// password and an unknown name are the same ErrBadCredentials and cost the
// same bcrypt comparison, so neither the answer nor its timing tells which
// names exist. A disabled user is ErrDisabled, but only once the password
// is right, for the same reason.
//
// A name or password no user can have (see AddUser and the password
// limits) is ErrBadCredentials without hashing, as that tells nothing
// about the users. Otherwise the comparison takes a hashing turn (see
// WithHashing): ErrBusy, a *BusyError, when the queue for them is full.
func (s *Store) Login(ctx context.Context, name, password string, ttl time.Duration, now time.Time) (plaintext string, info TokenInfo, id Identity, err error) {
	if ttl <= 0 {
		return "", TokenInfo{}, Identity{}, invalidf("login session lifetime %v: must be positive", ttl)
	}
	if !nameRE.MatchString(name) || checkPassword(password) != nil {
		return "", TokenInfo{}, Identity{}, ErrBadCredentials
	}
	var hash sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE name = $1`, name).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", TokenInfo{}, Identity{}, err
	}
	var right bool
	if err := s.hashing.do(ctx, func() { right = verifyPassword(hash.String, password, s.hashCost) }); err != nil {
		return "", TokenInfo{}, Identity{}, err
	}
	if !right { // hash "" for no user or no password
		return "", TokenInfo{}, Identity{}, ErrBadCredentials
	}
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		u, err := s.user(ctx, tx, name)
		if err != nil {
			return err
		}
		if u.Disabled {
			return ErrDisabled
		}
		plaintext, info, err = s.insertToken(ctx, tx, u, "login", ttl, now)
		id = Identity{UserID: u.ID, Name: u.Name, Role: u.Role, Grants: u.Grants, TokenID: info.ID}
		return err
	})
	if err != nil {
		return "", TokenInfo{}, Identity{}, err
	}
	return plaintext, info, id, nil
}
