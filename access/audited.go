package access

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
)

// serveAudited runs a changing route with a pending audit record the
// handler describes and its store may write in the change's transaction;
// a success whose record is still unwritten gets it appended here, once
// the client has its answer: the record waits for its turn to write (on
// SQLite behind a check's findings or a large upload's chunk), the answer
// need not, and a check's answer is due within its deadline.
func (r *Router) serveAudited(w http.ResponseWriter, req *http.Request, h http.Handler, id auth.Identity, pattern string, rule Rule) {
	p := audit.NewPending(r.audit, audit.Record{
		Actor: id.Name, Role: string(id.Role), Study: req.PathValue("study"),
		Entity: rule.Entity, Action: action(req.Method, rule), Source: clientAddr(req),
	})
	sw := &answerBuffer{ResponseWriter: w}
	h.ServeHTTP(sw, req.WithContext(audit.WithPending(req.Context(), p)))
	sw.send()
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

// answerBuffer holds a changing route's answer (a short JSON document)
// until send writes it whole, with its length, so that the client has
// all of it before the route's audit record is written.
type answerBuffer struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (w *answerBuffer) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *answerBuffer) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *answerBuffer) status() int { return w.code }

// send writes the answer held and flushes it to the client.
func (w *answerBuffer) send() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if w.body.Len() > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(w.body.Len()))
	}
	w.ResponseWriter.WriteHeader(w.code)
	w.ResponseWriter.Write(w.body.Bytes())
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *answerBuffer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
