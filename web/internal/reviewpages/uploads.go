package reviewpages

import (
	"mime"
	"net/http"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// uploadsPage is the form; its script sends the files and shows the
// answer (assets/uploads.js).
func (s *Pages) uploadsPage(w http.ResponseWriter, r *http.Request) {
	s.pages.Render(w, r, http.StatusOK, "uploads", page.Page{Title: "Uploads · " + r.PathValue("study"), Nav: "uploads",
		Scripts: []string{"uploads.js"}})
}

// upload passes the page's multipart body, as it streams in, to
// POST /api/v1/studies/{study}/uploads, which reads, validates, stores
// and audits it as for any client, and answers the page's script with the
// API's JSON: what was stored per domain, or every problem by file, line
// or row, and column. Only the answer is held in memory.
func (s *Pages) upload(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "multipart/form-data" {
		jsonhttp.Error(w, http.StatusBadRequest, "send the files as multipart/form-data")
		return
	}
	a := s.api.Do(r, http.MethodPost, page.StudyAPI(r.PathValue("study"), "uploads"), ct, r.Body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if v := a.Header.Get("Retry-After"); v != "" {
		h.Set("Retry-After", v)
	}
	w.WriteHeader(a.Status)
	w.Write(a.Body)
}
