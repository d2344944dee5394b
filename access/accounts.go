package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/sqldb"
)

// DefaultLoginTTL is how long a token from a password login lasts.
const DefaultLoginTTL = 12 * time.Hour

// Accounts serves login, the caller's identity, and the admin's user and
// token management.
type Accounts struct {
	admin    *AccountAdmin
	users    *auth.Store
	audit    *audit.Log
	loginTTL time.Duration
	// Logins are limited per client address, per user name and in all,
	// by limiters made of limits (UseLimits), before any password is
	// hashed.
	limits                 auth.Limits
	clientLimit, allLimit  limit
	clients, logins, every auth.RateLimiter
	log                    *slog.Logger
	now                    func() time.Time
}

// NewAccounts returns the accounts API over users, recording in log.
func NewAccounts(db *sqldb.DB, users *auth.Store, log *audit.Log, logger *slog.Logger) *Accounts {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Accounts{admin: NewAccountAdmin(db, users), users: users, audit: log, loginTTL: DefaultLoginTTL,
		clientLimit: limit{DefaultGuessRate, DefaultGuessBurst}, allLimit: limit{DefaultLoginRate, DefaultLoginBurst},
		log: logger, now: time.Now}
	a.UseLimits(MemoryLimits)
	return a
}

// Login limit per user name: five tries a minute, bursts of ten, enough
// for a person mistyping, far too few for guessing a password.
var loginLimit = limit{5.0 / 60, 10}

// Default limit of all logins together, whoever and from wherever: about
// what one CPU core hashes at bcrypt cost 12, with room for a morning's
// rush. It bounds guessing spread over many names and addresses.
const (
	DefaultLoginRate  = 5
	DefaultLoginBurst = 50
)

// LimitClients bounds logins per client address, like bad credentials
// on other routes (WithGuessLimit).
func (a *Accounts) LimitClients(rate float64, burst int) {
	a.clientLimit = limit{rate, burst}
	a.clients = a.limits.Limiter("login-client", rate, burst)
}

// LimitAll bounds all logins together.
func (a *Accounts) LimitAll(rate float64, burst int) {
	a.allLimit = limit{rate, burst}
	a.every = a.limits.Limiter("login-all", rate, burst)
}

// UseLimits keeps the login limits in limits (MemoryLimits until then;
// see LimitsFor). Call it before serving.
func (a *Accounts) UseLimits(limits auth.Limits) {
	a.limits = limits
	a.logins = limits.Limiter("login-user", loginLimit.rate, loginLimit.burst)
	a.clients = limits.Limiter("login-client", a.clientLimit.rate, a.clientLimit.burst)
	a.every = limits.Limiter("login-all", a.allLimit.rate, a.allLimit.burst)
}

// Register mounts the routes on mux.
func (a *Accounts) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("POST /api/v1/login", a.login)
	mux.HandleFunc("GET /api/v1/me", a.me)
	mux.HandleFunc("POST /api/v1/logout", a.logout)
	mux.HandleFunc("GET /api/v1/users", a.listUsers)
	mux.HandleFunc("POST /api/v1/users", a.addUser)
	mux.HandleFunc("POST /api/v1/users/{name}/disable", a.disableUser)
	mux.HandleFunc("POST /api/v1/users/{name}/enable", a.enableUser)
	mux.HandleFunc("GET /api/v1/tokens", a.listTokens)
	mux.HandleFunc("POST /api/v1/tokens", a.createToken)
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", a.revokeToken)
}

// decode reads a small JSON body strictly, answering 400 on a bad one
// (413 on one too large).
func decode(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	if err := readJSON(w, r, v); err != nil {
		if !jsonhttp.TooLarge(w, err) {
			jsonhttp.Error(w, http.StatusBadRequest, "request body: "+err.Error()+" (want "+want+")")
		}
		return false
	}
	return true
}

// readJSON reads a small JSON body strictly.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type loginRequest struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type tokenJSON struct {
	ID       int64      `json:"id"`
	User     string     `json:"user"`
	Label    string     `json:"label,omitempty"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires,omitempty"`
	Revoked  *time.Time `json:"revoked,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

func tokenView(t auth.TokenInfo) tokenJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return tokenJSON{ID: t.ID, User: t.User, Label: t.Label, Created: t.Created,
		Expires: opt(t.Expires), Revoked: opt(t.Revoked), LastUsed: opt(t.LastUsed)}
}

// allLogins is the key of the limit of all logins together.
const allLogins = "all"

// login trades a user name and password for a token. Every attempt leaves
// an audit record, under the user name as audit.Name writes it:
// "succeeded"; "failed" (wrong name or password, a body that is not a
// login, a client gone); or "refused" when a limit stopped it before its
// password was checked. The limits come before any hashing: per client
// address first, so an address over its limit spends no user's bucket
// and none of the global one; per user name; all logins together; then
// the password is compared in a bounded pool of hashing turns
// (auth.WithHashing), whose full queue refuses at once too.
func (a *Accounts) login(w http.ResponseWriter, r *http.Request) {
	now, client := a.now(), clientAddr(r)
	var in loginRequest
	readErr := readJSON(w, r, &in)
	name, cut := audit.CutName(in.User)
	rec := audit.Record{Actor: name, Entity: "login", EntityID: name, Source: client}
	// The record of a name too long to keep whole tells it apart by its
	// length and hash.
	var cutName map[string]any
	if cut {
		sum := sha256.Sum256([]byte(in.User))
		cutName = map[string]any{"user_bytes": len(in.User), "user_sha256": hex.EncodeToString(sum[:])}
	}
	if textErr := jsonhttp.CheckText(r); textErr != nil && readErr == nil {
		// Refused as the router refuses it for other routes, but audited:
		// the record escapes what was sent.
		a.recordLogin(r, rec, "failed", "malformed request: "+textErr.Error(), cutName)
		jsonhttp.Error(w, http.StatusBadRequest, textErr.Error())
		return
	}
	if readErr != nil {
		a.recordLogin(r, rec, "failed", "malformed request", cutName)
		if !jsonhttp.TooLarge(w, readErr) {
			jsonhttp.Error(w, http.StatusBadRequest, "request body: "+readErr.Error()+` (want {"user": "...", "password": "..."})`)
		}
		return
	}
	for _, l := range []struct {
		limiter auth.RateLimiter
		key     string
		reason  string
	}{
		{a.clients, client, "too many logins from this address"},
		{a.logins, name, "too many logins as this user"},
		{a.every, allLogins, "too many logins in all"},
	} {
		ok, wait, err := l.limiter.Allow(r.Context(), l.key, now)
		switch {
		case err != nil:
			a.recordLogin(r, rec, "refused", "checking the rate limit failed", cutName)
			if r.Context().Err() == nil {
				a.log.Error("checking a login rate limit", "error", err)
			}
			jsonhttp.Error(w, http.StatusServiceUnavailable, "checking the rate limit failed: retry later")
			return
		case !ok:
			a.recordLogin(r, rec, "refused", l.reason, cutName)
			tooMany(w, wait)
			return
		}
	}
	token, info, id, err := a.users.Login(r.Context(), in.User, in.Password, a.loginTTL, now)
	if busy := (*auth.BusyError)(nil); errors.As(err, &busy) {
		a.recordLogin(r, rec, "refused", "password checks at capacity", cutName)
		tooMany(w, busy.RetryAfter)
		return
	}
	switch {
	case err == nil:
	case isCredentialError(err):
		a.recordLogin(r, rec, "failed", authMessage(err), cutName)
		jsonhttp.Error(w, http.StatusUnauthorized, "wrong user name or password") // the same for both: names do not leak
		return
	case r.Context().Err() != nil: // gone while waiting for a hashing turn
		a.recordLogin(r, rec, "failed", "the client left before its password was checked", cutName)
		return
	default:
		a.recordLogin(r, rec, "failed", "server error", cutName)
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("login: %w", err))
		return
	}
	rec.Action, rec.Role = "succeeded", string(id.Role)
	rec.New = audit.JSON(tokenView(info))
	if _, err := a.audit.Append(r.Context(), rec); err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("recording a login: %w", err))
		return
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"token": token, "expires": info.Expires, "identity": id})
}

// recordLogin appends the record of a login that did not succeed, even if
// the client has gone, with why and the detail given.
func (a *Accounts) recordLogin(r *http.Request, rec audit.Record, action, reason string, detail map[string]any) {
	rec.Action = action
	all := map[string]any{"reason": reason}
	maps.Copy(all, detail)
	rec.New = audit.JSON(all)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := a.audit.Append(ctx, rec); err != nil {
		a.log.ErrorContext(ctx, "AUDIT RECORD LOST: recording a login that did not succeed", "action", action, "reason", reason, "error", err)
	}
}

func (a *Accounts) me(w http.ResponseWriter, r *http.Request) {
	if id, ok := auth.Caller(w, r); ok {
		jsonhttp.Write(w, http.StatusOK, id)
	}
}

type userJSON struct {
	Name        string       `json:"name"`
	Role        auth.Role    `json:"role"`
	Grants      []auth.Grant `json:"grants"`
	Disabled    bool         `json:"disabled"`
	HasPassword bool         `json:"has_password"`
	Created     time.Time    `json:"created"`
}

func userView(u auth.User) userJSON {
	return userJSON{Name: u.Name, Role: u.Role, Grants: u.Grants, Disabled: u.Disabled, HasPassword: u.HasPassword, Created: u.Created}
}

func (a *Accounts) listUsers(w http.ResponseWriter, r *http.Request) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	us, err := a.admin.Users(r.Context(), caller)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]userJSON, len(us))
	for i, u := range us {
		out[i] = userView(u)
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"users": out})
}

func (a *Accounts) addUser(w http.ResponseWriter, r *http.Request) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	var in NewUser
	if !decode(w, r, &in, `{"name": "...", "role": "site|monitor|admin|ops", "study": "...", "sites": "701,702", "password": "..."}`) {
		return
	}
	u, err := a.admin.AddUser(r.Context(), caller, in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusCreated, userView(u))
}

func (a *Accounts) disableUser(w http.ResponseWriter, r *http.Request) {
	a.changeUser(w, r, a.admin.DisableUser)
}

func (a *Accounts) enableUser(w http.ResponseWriter, r *http.Request) {
	a.changeUser(w, r, a.admin.EnableUser)
}

// changeUser answers the user the path names after change.
func (a *Accounts) changeUser(w http.ResponseWriter, r *http.Request,
	change func(context.Context, auth.Identity, string) (auth.User, error)) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	u, err := change(r.Context(), caller, r.PathValue("name"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, userView(u))
}

func (a *Accounts) listTokens(w http.ResponseWriter, r *http.Request) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	ts, err := a.admin.Tokens(r.Context(), caller, r.URL.Query().Get("user"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = tokenView(t)
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"tokens": out})
}

type newToken struct {
	User      string `json:"user"`
	Label     string `json:"label"`
	ExpiresIn string `json:"expires_in"`
}

func (a *Accounts) createToken(w http.ResponseWriter, r *http.Request) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	var in newToken
	if !decode(w, r, &in, `{"user": "...", "label": "...", "expires_in": "720h"}`) {
		return
	}
	var ttl time.Duration
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 {
			jsonhttp.Error(w, http.StatusBadRequest, fmt.Sprintf("expires_in: want a positive duration such as 720h, got %q", in.ExpiresIn))
			return
		}
		ttl = d
	}
	plain, info, err := a.admin.CreateToken(r.Context(), caller, in.User, in.Label, ttl)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusCreated, map[string]any{"token": plain, "info": tokenView(info),
		"note": "the token is shown only now: store it safely"})
}

func (a *Accounts) revokeToken(w http.ResponseWriter, r *http.Request) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		jsonhttp.Error(w, http.StatusBadRequest, "token id in the path: want a positive whole number, got "+strconv.Quote(r.PathValue("id")))
		return
	}
	after, err := a.admin.RevokeToken(r.Context(), caller, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, tokenView(after))
}

// logout revokes the token the request was made with: a browser's sign
// out, or a script done with its login.
func (a *Accounts) logout(w http.ResponseWriter, r *http.Request) {
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	after, err := a.admin.RevokeOwn(r.Context(), caller)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, tokenView(after))
}

func (a *Accounts) fail(w http.ResponseWriter, r *http.Request, err error) {
	var busy *auth.BusyError
	switch {
	case errors.Is(err, auth.ErrUnknownUser):
		jsonhttp.Error(w, http.StatusNotFound, "no such user")
	case errors.Is(err, auth.ErrUnknownToken):
		jsonhttp.Error(w, http.StatusNotFound, "no such token")
	case errors.Is(err, ErrNotAdministered):
		jsonhttp.Error(w, http.StatusForbidden, err.Error())
	case errors.Is(err, auth.ErrExists):
		jsonhttp.Error(w, http.StatusConflict, err.Error())
	case errors.Is(err, auth.ErrDisabled):
		jsonhttp.Error(w, http.StatusConflict, err.Error())
	case errors.Is(err, auth.ErrInvalid):
		jsonhttp.Error(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &busy): // the password's hash waits for a turn
		tooMany(w, busy.RetryAfter)
	default:
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("accounts: %w", err))
	}
}
