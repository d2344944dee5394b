// Package auth holds trialwatch's access control (21 CFR Part 11.10 (d),
// (g)): users with a role and the studies and sites granted to them, API
// tokens, password logins and per-key rate limiting.
package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Role says what a user may do; Grants say where.
type Role string

const (
	RoleSite    Role = "site"    // uploads and reads data of its sites
	RoleMonitor Role = "monitor" // reviews signals of whole studies
	RoleAdmin   Role = "admin"   // manages users and studies
	RoleOps     Role = "ops"     // runs the service; sees no study data
	// RoleSystem is trialwatch acting on an operator's command on the
	// server itself (trialwatch import, the demo's pilot load): every
	// study, every site. No user can have it (ParseRole refuses it); only
	// WithSystem gives it, never a request.
	RoleSystem Role = "system"
)

var roles = []Role{RoleSite, RoleMonitor, RoleAdmin, RoleOps}

// ParseRole reads a role name, ignoring case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(roles, r) {
		return "", invalidf("unknown role %q: want site, monitor, admin or ops", s)
	}
	return r, nil
}

// AllSites is the Site of a Grant that covers every site of its study.
const AllSites = "*"

// Grant gives access to one study; Site "*" means every site of it.
type Grant struct {
	Study string `json:"study"`
	Site  string `json:"site"`
}

// ParseGrants reads a study and a comma-separated list of its sites, as a
// command line gives them; "" or "*" means all sites.
func ParseGrants(study string, sites string) ([]Grant, error) {
	study = strings.TrimSpace(study)
	if study == "" {
		return nil, invalidf("grant: no study given")
	}
	if s := strings.TrimSpace(sites); s == "" || s == AllSites {
		return []Grant{{study, AllSites}}, nil
	}
	var out []Grant
	for site := range strings.SplitSeq(sites, ",") {
		site = strings.TrimSpace(site)
		switch {
		case site == "":
			return nil, invalidf("grant %s: blank site in %q", study, sites)
		case site == AllSites:
			return nil, invalidf("grant %s: %q cannot be combined with named sites", study, AllSites)
		}
		g := Grant{study, site}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Identity is who a request acts for, as Authenticate or Login found it.
type Identity struct {
	UserID  int64   `json:"user_id"`
	Name    string  `json:"name"`
	Role    Role    `json:"role"`
	Grants  []Grant `json:"grants"`
	TokenID int64   `json:"token_id,omitempty"` // the token this request came with
}

// HasStudy reports whether the identity may see any of study.
func (id Identity) HasStudy(study string) bool {
	all, sites := id.Sites(study)
	return all || len(sites) > 0
}

// Sites says which sites of study the identity may see: all=true for every
// site; else the list (nil when none). An admin without grants administers
// every study; ops sees no study data whatever its grants.
func (id Identity) Sites(study string) (all bool, sites []string) {
	switch id.Role {
	case RoleSystem:
		return true, nil
	case RoleOps:
		return false, nil
	case RoleAdmin:
		if len(id.Grants) == 0 {
			return true, nil
		}
	}
	for _, g := range id.Grants {
		if g.Study != study {
			continue
		}
		if g.Site == AllSites {
			return true, nil
		}
		if !slices.Contains(sites, g.Site) {
			sites = append(sites, g.Site)
		}
	}
	return false, sites
}

// AllStudies reports whether the identity sees every study, present and
// future: an admin without grants.
func (id Identity) AllStudies() bool {
	return id.Role == RoleSystem || id.Role == RoleAdmin && len(id.Grants) == 0
}

// CanSee reports whether the identity may see site of study.
func (id Identity) CanSee(study, site string) bool {
	all, sites := id.Sites(study)
	return all || slices.Contains(sites, site)
}

type contextKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the identity NewContext put in ctx.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(contextKey{}).(Identity)
	return id, ok
}

// ErrNoIdentity: the work was asked for by nobody known. Whatever scopes
// by study or site refuses it: no identity never means "everything".
var ErrNoIdentity = errors.New("no identity: the caller was not authenticated")

// Require returns the identity ctx carries, or ErrNoIdentity.
func Require(ctx context.Context) (Identity, error) {
	id, ok := FromContext(ctx)
	if !ok {
		return Identity{}, ErrNoIdentity
	}
	return id, nil
}

// WithSystem returns ctx carrying the identity of trialwatch itself
// (RoleSystem, named "system"): for work an operator starts on the server,
// which may touch every study and site.
func WithSystem(ctx context.Context) context.Context {
	return NewContext(ctx, Identity{Name: "system", Role: RoleSystem})
}

// Caller is the identity r acts for. Without one it answers 401 and
// reports false: a handler that scopes by study or site serves nobody the
// access layer did not authenticate, even when mounted without it.
func Caller(w http.ResponseWriter, r *http.Request) (Identity, bool) {
	id, ok := FromContext(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trialwatch"`)
		jsonhttp.Error(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
	}
	return id, ok
}
