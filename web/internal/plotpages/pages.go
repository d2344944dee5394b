// Package plotpages serves the browser UI's plot pages: the subject list,
// a subject's timeline and lab plots with CTCAE grade bands, eDISH and
// mDISH, the KRI funnels and a site's KRIs over time. Each turns the JSON
// API's answers, read as the signed-in user, into a compact plot document
// (page.Page's Plot) for its script and the same data as tables.
package plotpages

import (
	"embed"
	"log/slog"
	"net/http"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

//go:embed templates
var files embed.FS

// Pages serves the plot pages.
type Pages struct {
	api   *page.APIClient
	pages *page.Renderer
}

// New returns the plot pages, calling api for everything they show.
func New(api *page.APIClient, log *slog.Logger) *Pages {
	return &Pages{api: api, pages: page.NewRenderer(files, log)}
}

// Register mounts the pages' routes on mux; each needs its rule in
// access.Rules.
func (s *Pages) Register(mux jsonhttp.Mux) {
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /ui/studies/{study}/subjects":           s.subjectList,
		"GET /ui/studies/{study}/subjects/{subject}": s.subjectPage,
		"GET /ui/studies/{study}/edish":              s.edish,
		"GET /ui/studies/{study}/kris":               s.kris,
		"GET /ui/studies/{study}/sites/{site}":       s.sitePage,
	} {
		mux.HandleFunc(pattern, h)
	}
}
