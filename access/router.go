// Package access decides, in one place, who may call each route of
// trialwatch's public listener: a Router refuses to mount a route that has
// no Rule, authenticates every non-public request, checks the caller's role
// and study, rate-limits each token, and writes one audit record for every
// successful change. Handlers then see only callers they may serve, and
// narrow what they return to the caller's sites (auth.Identity.Sites).
package access

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Rule says who may call one route.
type Rule struct {
	// Public routes need no credentials (health, login).
	Public bool
	// Service routes are the data services' Connect endpoints: only the
	// internal service credential opens them, never a user token.
	Service bool
	// Roles may call the route; a route with none is closed to users.
	Roles []auth.Role
	// Entity names what a changing route changes in its audit record;
	// set exactly on the routes that change something.
	Entity string
	// Streams marks routes that take large bodies and bound them
	// themselves (uploads); every other route's body is limited by the
	// router.
	Streams bool
	// Action is the audit record's action (default "create" for POST,
	// "update" for PUT and PATCH, "delete" for DELETE).
	Action string
	// Page routes are the web UI's: the session cookie authenticates
	// them, a request without one is sent to the login page, and every
	// state-changing request must carry the session's CSRFToken. They
	// change data only through the API's routes, which audit it.
	Page bool
	// ChecksText marks a route whose handler refuses a path or query
	// that is not text itself (jsonhttp.CheckText), so that it can audit
	// the refusal (login); the router refuses it for every other route.
	ChecksText bool
}

// Authenticator turns a bearer token into the identity it stands for;
// *auth.Store is one.
type Authenticator interface {
	Authenticate(ctx context.Context, token string, now time.Time) (auth.Identity, error)
}

// Router is an http.Handler that mounts routes only with a Rule and
// enforces it on every request.
type Router struct {
	mux      *http.ServeMux
	rules    map[string]Rule
	patterns []string
	authn    Authenticator
	audit    *audit.Log
	service  []byte
	// The limits' rates and the limiters made of them (UseLimits).
	tokenLimit, guessLimit limit
	perToken, badAuth      auth.RateLimiter
	maxBody                int64
	log                    *slog.Logger
	now                    func() time.Time
	pageError              PageErrors
}

// Option configures a Router.
type Option func(*Router)

// WithServiceToken sets the internal credential that opens Service routes.
func WithServiceToken(token string) Option { return func(r *Router) { r.service = []byte(token) } }

// WithRateLimit bounds requests per token: rate per second, with bursts.
func WithRateLimit(rate float64, burst int) Option {
	return func(r *Router) { r.tokenLimit = limit{rate, burst} }
}

// DefaultMaxBody bounds the body of a request to a route that does not
// stream: JSON documents of a few kilobytes.
const DefaultMaxBody = 1 << 20

// WithMaxBody bounds request bodies of routes that do not stream.
func WithMaxBody(n int64) Option { return func(r *Router) { r.maxBody = n } }

// WithGuessLimit bounds requests with bad credentials per client address:
// rate per second, with bursts.
func WithGuessLimit(rate float64, burst int) Option {
	return func(r *Router) { r.guessLimit = limit{rate, burst} }
}

// WithLogger logs refused and failed requests (never their credentials).
func WithLogger(l *slog.Logger) Option { return func(r *Router) { r.log = l } }

// WithClock replaces time.Now, for tests of expiry and rate limits.
func WithClock(now func() time.Time) Option { return func(r *Router) { r.now = now } }

// Default rate limits. Bad credentials are limited per client address so
// guessing tokens is slow; good ones per token so one client cannot starve
// the others.
const (
	DefaultRate       = 50
	DefaultBurst      = 200
	DefaultGuessRate  = 1
	DefaultGuessBurst = 20
	maxLimitedClients = 100_000
)

// NewRouter returns a router that mounts routes by rules. Until Attach
// gives it users and an audit trail, it serves only public and service
// routes (a data service's process has nothing else).
func NewRouter(rules map[string]Rule, opts ...Option) *Router {
	r := &Router{mux: http.NewServeMux(), rules: rules,
		tokenLimit: limit{DefaultRate, DefaultBurst}, guessLimit: limit{DefaultGuessRate, DefaultGuessBurst},
		maxBody: DefaultMaxBody, log: slog.New(slog.DiscardHandler), now: time.Now, pageError: plainPageError}
	for _, o := range opts {
		o(r)
	}
	r.UseLimits(MemoryLimits)
	return r
}

// UseLimits keeps the router's rate limits in limits (MemoryLimits until
// then; see LimitsFor). Call it before serving.
func (r *Router) UseLimits(limits auth.Limits) {
	r.perToken = limits.Limiter("token", r.tokenLimit.rate, r.tokenLimit.burst)
	r.badAuth = limits.Limiter("bad-credentials", r.guessLimit.rate, r.guessLimit.burst)
}

// Attach sets who the users are and where changes are recorded. Call it
// before serving.
func (r *Router) Attach(users Authenticator, trail *audit.Log) { r.authn, r.audit = users, trail }

// Handle mounts h at pattern under the pattern's Rule. A pattern without a
// Rule panics: a route nobody decided about must not go live.
func (r *Router) Handle(pattern string, h http.Handler) {
	rule, ok := r.rules[pattern]
	if !ok {
		panic(fmt.Sprintf("access: route %q has no access rule: add it to the rules table", pattern))
	}
	r.patterns = append(r.patterns, pattern)
	r.mux.Handle(pattern, r.guard(pattern, rule, h))
}

// HandleFunc is Handle for a function.
func (r *Router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	r.Handle(pattern, http.HandlerFunc(h))
}

// Patterns lists every mounted route, sorted.
func (r *Router) Patterns() []string {
	out := slices.Clone(r.patterns)
	sort.Strings(out)
	return out
}

// RulesFor returns the rule of every mounted route.
func (r *Router) RulesFor() map[string]Rule {
	out := make(map[string]Rule, len(r.patterns))
	for _, p := range r.patterns {
		out[p] = r.rules[p]
	}
	return out
}

// Unmounted lists the rules no mounted route uses: a table entry for a
// route that no longer exists.
func (r *Router) Unmounted() []string {
	var out []string
	for p := range r.rules {
		if !slices.Contains(r.patterns, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

// guard enforces rule before h runs.
func (r *Router) guard(pattern string, rule Rule, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := jsonhttp.CheckText(req); err != nil && !rule.ChecksText {
			jsonhttp.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if !rule.Streams && !rule.Service && req.Body != nil {
			req.Body = http.MaxBytesReader(w, req.Body, r.maxBody)
		}
		switch {
		case rule.Public:
			h.ServeHTTP(w, req)
			return
		case rule.Service:
			r.serveService(w, req, h)
			return
		case rule.Page:
			r.guardPage(w, req, pattern, rule, h)
			return
		}
		now := r.now()
		id, ok := r.authenticate(w, req, now)
		if !ok {
			return
		}
		jsonhttp.SetUser(req.Context(), id.Name)
		if !allowed(w, req, r.log, r.perToken, strconv.FormatInt(id.TokenID, 10), now) {
			return
		}
		if !slices.Contains(rule.Roles, id.Role) {
			r.log.InfoContext(req.Context(), "refused: role not allowed", "route", pattern, "user", id.Name, "role", id.Role)
			jsonhttp.Error(w, http.StatusForbidden, fmt.Sprintf("role %s may not call %s", id.Role, pattern))
			return
		}
		// A study the caller has no grant for answers as if it did not
		// exist, so names of other studies do not leak.
		if study := req.PathValue("study"); study != "" && !id.HasStudy(study) {
			jsonhttp.NotFound(w)
			return
		}
		ctx := auth.NewContext(req.Context(), id)
		if rule.Entity == "" || r.audit == nil {
			h.ServeHTTP(w, req.WithContext(ctx))
			return
		}
		r.serveAudited(w, req.WithContext(ctx), h, id, pattern, rule)
	})
}

// authenticate answers 401 (or 429 for a client guessing) unless the
// request carries a valid token.
func (r *Router) authenticate(w http.ResponseWriter, req *http.Request, now time.Time) (auth.Identity, bool) {
	client := clientAddr(req)
	token, err := auth.ParseAuthorization(req.Header.Get("Authorization"))
	var id auth.Identity
	switch {
	case err != nil:
	case r.authn == nil:
		err = auth.ErrBadCredentials // no users on this process
	default:
		id, err = r.authn.Authenticate(req.Context(), token, now)
	}
	if err == nil {
		return id, true
	}
	if !errors.Is(err, auth.ErrNoCredentials) {
		if !allowed(w, req, r.log, r.badAuth, client, now) {
			return auth.Identity{}, false
		}
	}
	if !isCredentialError(err) {
		jsonhttp.ServerError(w, req, r.log, http.StatusInternalServerError, fmt.Errorf("authenticating a request: %w", err))
		return auth.Identity{}, false
	}
	msg := authMessage(err)
	r.log.InfoContext(req.Context(), "refused: bad credentials", "client", client, "reason", msg)
	w.Header().Set("WWW-Authenticate", `Bearer realm="trialwatch"`)
	jsonhttp.Error(w, http.StatusUnauthorized, msg)
	return auth.Identity{}, false
}

func isCredentialError(err error) bool {
	for _, e := range []error{auth.ErrNoCredentials, auth.ErrBadCredentials, auth.ErrExpired, auth.ErrRevoked, auth.ErrDisabled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// authMessage says what was wrong with the credentials, never echoing them.
func authMessage(err error) string {
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return "authentication required: send Authorization: Bearer <token>"
	case errors.Is(err, auth.ErrExpired):
		return "token expired"
	case errors.Is(err, auth.ErrRevoked):
		return "token revoked"
	case errors.Is(err, auth.ErrDisabled):
		return "user disabled"
	}
	return "invalid credentials"
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
	jsonhttp.Error(w, http.StatusTooManyRequests, "too many requests: retry later")
}

// serveService opens a data service's route to callers that present the
// internal service credential.
func (r *Router) serveService(w http.ResponseWriter, req *http.Request, h http.Handler) {
	token, ok := bearer(req.Header.Get("Authorization"))
	if !ok || len(r.service) == 0 || subtle.ConstantTimeCompare([]byte(token), r.service) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trialwatch-internal"`)
		jsonhttp.Error(w, http.StatusUnauthorized, "data services accept only the internal service credential")
		return
	}
	// The caller is trialwatch's own checker: it acts on the Connect error
	// codes of 5xx answers and logs their text. User names cannot hold
	// parentheses, so its name in the access log is no user's.
	jsonhttp.SetUser(req.Context(), jsonhttp.ServiceUser)
	jsonhttp.PassServerErrors(req)
	h.ServeHTTP(w, req)
}

// bearer takes the credential out of an "Authorization: Bearer X" header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// clientAddr is the caller's IP address, for limits and audit records.
func clientAddr(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}
