// Package reviewpages serves the browser UI's pages for reviewing a
// study's findings: the overview, the findings queue and its export, a
// finding's page, the bulk review, the audit trail and its export, and
// uploads. Each reads and changes data through the JSON API, as the
// signed-in user.
package reviewpages

import (
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

//go:embed templates
var files embed.FS

// Pages serves the review pages.
type Pages struct {
	api   *page.APIClient
	pages *page.Renderer
	now   func() time.Time
}

// New returns the review pages, calling api for everything they show;
// now is the clock the overview's "since your last visit" reads.
func New(api *page.APIClient, log *slog.Logger, now func() time.Time) *Pages {
	return &Pages{api: api, pages: page.NewRenderer(files, log), now: now}
}

// Register mounts the pages' routes on mux; each needs its rule in
// access.Rules.
func (s *Pages) Register(mux jsonhttp.Mux) {
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /ui/studies/{study}/{$}":              s.overview,
		"GET /ui/studies/{study}/findings":         s.findings,
		"GET /ui/studies/{study}/findings.csv":     s.exportFindings,
		"POST /ui/studies/{study}/findings/review": s.review,
		"GET /ui/studies/{study}/findings/{id}":    s.finding,
		"GET /ui/studies/{study}/audit":            s.audit,
		"GET /ui/studies/{study}/audit.csv":        s.exportAudit,
		"GET /ui/studies/{study}/uploads":          s.uploadsPage,
		"POST /ui/studies/{study}/uploads":         s.upload,
	} {
		mux.HandleFunc(pattern, h)
	}
}
