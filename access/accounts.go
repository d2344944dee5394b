package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	// Logins are limited per user name and per client address, by
	// limiters made of limits (UseLimits).
	limits      auth.Limits
	clientLimit limit
	logins      auth.RateLimiter
	clients     auth.RateLimiter
	log         *slog.Logger
	now         func() time.Time
}

// NewAccounts returns the accounts API over users, recording in log.
func NewAccounts(db *sqldb.DB, users *auth.Store, log *audit.Log, logger *slog.Logger) *Accounts {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Accounts{admin: NewAccountAdmin(db, users), users: users, audit: log, loginTTL: DefaultLoginTTL,
		clientLimit: limit{DefaultGuessRate, DefaultGuessBurst}, log: logger, now: time.Now}
	a.UseLimits(MemoryLimits)
	return a
}

// Login limit per user name: five tries a minute, bursts of ten, enough
// for a person mistyping, far too few for guessing a password.
var loginLimit = limit{5.0 / 60, 10}

// LimitClients bounds logins per client address, like bad credentials
// on other routes (WithGuessLimit).
func (a *Accounts) LimitClients(rate float64, burst int) {
	a.clientLimit = limit{rate, burst}
	a.clients = a.limits.Limiter("login-client", rate, burst)
}

// UseLimits keeps the login limits in limits (MemoryLimits until then;
// see LimitsFor). Call it before serving.
func (a *Accounts) UseLimits(limits auth.Limits) {
	a.limits = limits
	a.logins = limits.Limiter("login-user", loginLimit.rate, loginLimit.burst)
	a.clients = limits.Limiter("login-client", a.clientLimit.rate, a.clientLimit.burst)
}

// Register mounts the routes on mux.
func (a *Accounts) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("POST /api/v1/login", a.login)
	mux.HandleFunc("GET /api/v1/me", a.me)
	mux.HandleFunc("GET /api/v1/users", a.listUsers)
	mux.HandleFunc("POST /api/v1/users", a.addUser)
	mux.HandleFunc("POST /api/v1/users/{name}/disable", a.disableUser)
	mux.HandleFunc("GET /api/v1/tokens", a.listTokens)
	mux.HandleFunc("POST /api/v1/tokens", a.createToken)
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", a.revokeToken)
}

// decode reads a small JSON body strictly, answering 400 on a bad one.
func decode(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, "request body: "+err.Error()+" (want "+want+")")
		return false
	}
	return true
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

// login trades a user name and password for a token. Failures are audited
// and limited per name and per client address.
func (a *Accounts) login(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if !decode(w, r, &in, `{"user": "...", "password": "..."}`) {
		return
	}
	now, client := a.now(), clientAddr(r)
	if !allowed(w, r, a.log, a.logins, in.User, now) || !allowed(w, r, a.log, a.clients, client, now) {
		return
	}
	token, info, id, err := a.users.Login(r.Context(), in.User, in.Password, a.loginTTL, now)
	rec := audit.Record{Actor: truncate(in.User, 64), Entity: "login", EntityID: truncate(in.User, 64), Source: client}
	if err != nil {
		rec.Action = "failed"
		rec.New = audit.JSON(map[string]string{"reason": authMessage(err)})
		if _, aerr := a.audit.Append(context.WithoutCancel(r.Context()), rec); aerr != nil {
			a.log.ErrorContext(r.Context(), "AUDIT RECORD LOST: recording a failed login", "error", aerr)
		}
		if !isCredentialError(err) {
			jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("login: %w", err))
			return
		}
		jsonhttp.Error(w, http.StatusUnauthorized, "wrong user name or password") // the same for both: names do not leak
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
	caller, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	u, err := a.admin.DisableUser(r.Context(), caller, r.PathValue("name"))
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

func (a *Accounts) fail(w http.ResponseWriter, r *http.Request, err error) {
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
	default:
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("accounts: %w", err))
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
