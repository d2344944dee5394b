package access

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
)

// ErrNotAdministered refuses to give a user grants outside the studies
// the calling admin administers.
var ErrNotAdministered = errors.New("you administer only some studies: the new user's grants must be within them")

// AccountAdmin is user and token management, for the API (Accounts) and
// the command line alike. Each change is made in one transaction with the
// pending audit record ctx carries (the router starts one for a request;
// a command starts its own with audit.WithPending), described here the
// same way whoever calls. The caller is the admin making the change: one
// with grants manages only users of its studies, and any other user or
// token is reported as unknown, so names do not leak.
type AccountAdmin struct {
	db    *sqldb.DB
	users *auth.Store
	now   func() time.Time
}

// NewAccountAdmin manages the users of store, in db.
func NewAccountAdmin(db *sqldb.DB, users *auth.Store) *AccountAdmin {
	return &AccountAdmin{db: db, users: users, now: time.Now}
}

// Superuser is the caller of a change made with direct access to the
// database (the command line, the demo's set-up): an admin of everything.
func Superuser(name string) auth.Identity { return auth.Identity{Name: name, Role: auth.RoleAdmin} }

// NewUser is a user to add, as an admin gives it: Sites are the
// comma-separated sites of Study ("" for all), no Study means no grants.
type NewUser struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Study    string `json:"study"`
	Sites    string `json:"sites"`
	Password string `json:"password"`
}

// Users lists the users caller administers.
func (m *AccountAdmin) Users(ctx context.Context, caller auth.Identity) ([]auth.User, error) {
	us, err := m.users.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := us[:0]
	for _, u := range us {
		if administers(caller, u.Grants) {
			out = append(out, u)
		}
	}
	return out, nil
}

// AddUser adds a user with grants within caller's studies.
func (m *AccountAdmin) AddUser(ctx context.Context, caller auth.Identity, in NewUser) (auth.User, error) {
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		return auth.User{}, fmt.Errorf("role: %w", err)
	}
	var grants []auth.Grant
	if in.Study != "" {
		if grants, err = auth.ParseGrants(in.Study, in.Sites); err != nil {
			return auth.User{}, err
		}
	}
	if !administers(caller, grants) {
		return auth.User{}, ErrNotAdministered
	}
	var u auth.User
	err = audit.InTx(ctx, m.db, in.Study, func(tx *sql.Tx) (_ audit.Change, err error) {
		u, err = m.users.AddUser(ctx, tx, in.Name, role, grants, in.Password, m.now())
		return audit.Change{EntityID: u.Name, New: userView(u)}, err
	})
	return u, err
}

// administered returns user name if caller administers it, else
// auth.ErrUnknownUser.
func (m *AccountAdmin) administered(ctx context.Context, caller auth.Identity, name string) (auth.User, error) {
	u, err := m.users.User(ctx, name)
	if err != nil {
		return auth.User{}, err // it names the user
	}
	if !administers(caller, u.Grants) {
		return auth.User{}, fmt.Errorf("user %s: %w", name, auth.ErrUnknownUser)
	}
	return u, nil
}

// DisableUser disables a user and revokes its tokens.
func (m *AccountAdmin) DisableUser(ctx context.Context, caller auth.Identity, name string) (auth.User, error) {
	return m.changeUser(ctx, caller, name, func(tx *sql.Tx) (auth.User, error) {
		return m.users.DisableUser(ctx, tx, name, m.now())
	})
}

// EnableUser lets a disabled user log in again; its revoked tokens stay
// revoked.
func (m *AccountAdmin) EnableUser(ctx context.Context, caller auth.Identity, name string) (auth.User, error) {
	return m.changeUser(ctx, caller, name, func(tx *sql.Tx) (auth.User, error) {
		return m.users.EnableUser(ctx, tx, name)
	})
}

// SetPassword sets a user's password for logins; "" removes it. The
// user's tokens stay valid.
func (m *AccountAdmin) SetPassword(ctx context.Context, caller auth.Identity, name, password string) (auth.User, error) {
	return m.changeUser(ctx, caller, name, func(tx *sql.Tx) (auth.User, error) {
		return m.users.SetPassword(ctx, tx, name, password, m.now())
	})
}

func (m *AccountAdmin) changeUser(ctx context.Context, caller auth.Identity, name string, change func(*sql.Tx) (auth.User, error)) (auth.User, error) {
	before, err := m.administered(ctx, caller, name)
	if err != nil {
		return auth.User{}, err
	}
	var after auth.User
	err = audit.InTx(ctx, m.db, "", func(tx *sql.Tx) (_ audit.Change, err error) {
		after, err = change(tx)
		return audit.Change{EntityID: name, Old: userView(before), New: userView(after)}, err
	})
	return after, err
}

// Tokens lists the tokens of the users caller administers; user, if
// given, narrows them to that user's.
func (m *AccountAdmin) Tokens(ctx context.Context, caller auth.Identity, user string) ([]auth.TokenInfo, error) {
	if user != "" {
		// A user of other studies is unknown, as one that does not exist,
		// not a user without tokens.
		if _, err := m.administered(ctx, caller, user); err != nil {
			return nil, err
		}
	}
	ts, err := m.users.Tokens(ctx, user)
	if err != nil {
		return nil, err
	}
	out := ts[:0]
	may := map[string]bool{} // one look-up per user, not per token
	for _, t := range ts {
		ok, seen := may[t.User]
		if !seen {
			_, err := m.administered(ctx, caller, t.User)
			ok = err == nil
			may[t.User] = ok
		}
		if ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// CreateToken issues a token for user, lasting ttl (0: never expires). The
// plaintext is returned only now; only its hash is stored.
func (m *AccountAdmin) CreateToken(ctx context.Context, caller auth.Identity, user, label string, ttl time.Duration) (string, auth.TokenInfo, error) {
	if _, err := m.administered(ctx, caller, user); err != nil {
		return "", auth.TokenInfo{}, err
	}
	var plain string
	var info auth.TokenInfo
	err := audit.InTx(ctx, m.db, "", func(tx *sql.Tx) (_ audit.Change, err error) {
		plain, info, err = m.users.CreateToken(ctx, tx, user, label, ttl, m.now())
		return audit.Change{EntityID: strconv.FormatInt(info.ID, 10), New: tokenView(info)}, err
	})
	return plain, info, err
}

// RevokeToken revokes token id of a user caller administers.
func (m *AccountAdmin) RevokeToken(ctx context.Context, caller auth.Identity, id int64) (auth.TokenInfo, error) {
	ts, err := m.Tokens(ctx, caller, "")
	if err != nil {
		return auth.TokenInfo{}, err
	}
	var before *auth.TokenInfo
	for i := range ts {
		if ts[i].ID == id {
			before = &ts[i]
		}
	}
	if before == nil {
		return auth.TokenInfo{}, fmt.Errorf("token %d: %w", id, auth.ErrUnknownToken)
	}
	var after auth.TokenInfo
	err = audit.InTx(ctx, m.db, "", func(tx *sql.Tx) (_ audit.Change, err error) {
		after, err = m.users.RevokeToken(ctx, tx, id, m.now())
		return audit.Change{EntityID: strconv.FormatInt(id, 10), Old: tokenView(*before), New: tokenView(after)}, err
	})
	return after, err
}

// RevokeOwn revokes the token caller authenticated with.
func (m *AccountAdmin) RevokeOwn(ctx context.Context, caller auth.Identity) (auth.TokenInfo, error) {
	var after auth.TokenInfo
	err := audit.InTx(ctx, m.db, "", func(tx *sql.Tx) (_ audit.Change, err error) {
		after, err = m.users.RevokeToken(ctx, tx, caller.TokenID, m.now())
		return audit.Change{EntityID: strconv.FormatInt(caller.TokenID, 10), New: tokenView(after)}, err
	})
	return after, err
}

// administers says whether admin may manage a user with grants: an admin
// without grants administers every study; one with grants only users
// whose every grant is in its studies (a user without grants, such as an
// ops user, only by an admin of everything).
func administers(admin auth.Identity, grants []auth.Grant) bool {
	if len(admin.Grants) == 0 {
		return true
	}
	if len(grants) == 0 {
		return false
	}
	for _, g := range grants {
		if !admin.HasStudy(g.Study) {
			return false
		}
	}
	return true
}
