package access

import (
	"context"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
)

// serveAudited runs a changing route with a pending audit record the
// handler describes and its store may write in the change's transaction;
// a success whose record is still unwritten gets it appended here.
func (r *Router) serveAudited(w http.ResponseWriter, req *http.Request, h http.Handler, id auth.Identity, pattern string, rule Rule) {
	p := audit.NewPending(r.audit, audit.Record{
		Actor: id.Name, Role: string(id.Role), Study: req.PathValue("study"),
		Entity: rule.Entity, Action: action(req.Method, rule), Source: clientAddr(req),
	})
	sw := &statusWriter{ResponseWriter: w}
	h.ServeHTTP(sw, req.WithContext(audit.WithPending(req.Context(), p)))
	if sw.status() < 200 || sw.status() > 299 {
		return
	}
	// The change is made: its record must be written even if the client
	// went away meanwhile.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), 10*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		r.log.ErrorContext(ctx, "AUDIT RECORD LOST: writing the record of a change failed", "route", pattern, "user", id.Name, "error", err)
	}
}

func action(method string, rule Rule) string {
	if rule.Action != "" {
		return rule.Action
	}
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodDelete:
		return "delete"
	}
	return "update"
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int { return w.code }

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
