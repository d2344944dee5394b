// Package scope is the access rule every checker API route keeps in its
// own code, not only behind the access router: a request without an
// identity gets 401, one for a study the caller has no grant for 404,
// and what a route shows or changes is narrowed to the sites the caller
// may see.
package scope

import (
	"context"
	"net/http"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Mount registers routes (pattern → handler) on mux, each refusing a
// request without an identity or without access to the {study} of its
// path before the handler runs: an API mounted without the router still
// fails closed.
func Mount(mux jsonhttp.Mux, routes map[string]http.HandlerFunc) {
	for pattern, h := range routes {
		mux.HandleFunc(pattern, jsonhttp.TextOnly(identified(h)))
	}
}

// identified refuses requests without an identity, and those of a
// caller who has no grant for the study.
func identified(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := auth.FromContext(r.Context())
		if !ok {
			jsonhttp.Error(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
			return
		}
		if !id.HasStudy(r.PathValue("study")) {
			jsonhttp.NotFound(w)
			return
		}
		h(w, r)
	}
}

// Caller is the request's identity, which Mount made sure it has.
func Caller(r *http.Request) auth.Identity {
	id, _ := auth.FromContext(r.Context())
	return id
}

// Visible reports whether the caller may see site of study; a request
// without an identity sees nothing.
func Visible(ctx context.Context, study, site string) bool {
	id, ok := auth.FromContext(ctx)
	return ok && id.CanSee(study, site)
}

// Sites are the sites of study the caller is limited to, for a store
// filter: nil when it sees every site, else a list of its own, empty
// (not nil) when it sees none.
func Sites(r *http.Request, study string) []string {
	all, sites := Caller(r).Sites(study)
	if all {
		return nil
	}
	return append([]string{}, sites...)
}
