package jsonhttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RequestIDHeader carries a request's id both ways: a client or proxy may
// send one to follow a request through its own logs; every answer carries
// the id the request was served and logged under.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an id taken from a request: longer ones are
// replaced, so a client cannot fill the logs through it.
const maxRequestIDLen = 64

// maxWithheld bounds how much of a withheld 5xx body is logged.
const maxWithheld = 4 << 10

// request is what RequestIDs knows of one request, shared through its
// context with ServerError and PassServerErrors.
type request struct {
	id      string
	arrived time.Time
	// generic: the handler answered its 5xx through ServerError, whose
	// body is already the generic one.
	generic bool
	// pass: the caller is part of trialwatch and gets 5xx bodies as they
	// are (PassServerErrors).
	pass bool
	// user is who the request is served for (SetUser), for the access
	// log.
	user atomic.Pointer[string]
}

type requestKey struct{}

func requestOf(ctx context.Context) *request {
	req, _ := ctx.Value(requestKey{}).(*request)
	return req
}

// RequestID is the id RequestIDs gave the request ctx belongs to; "" for
// a context of no such request.
func RequestID(ctx context.Context) string {
	if req := requestOf(ctx); req != nil {
		return req.id
	}
	return ""
}

// Arrived is when RequestIDs received the request; ok is false outside
// it. Work with a deadline counts from it, authentication included.
func Arrived(ctx context.Context) (t time.Time, ok bool) {
	if req := requestOf(ctx); req != nil {
		return req.arrived, true
	}
	return time.Time{}, false
}

// RequestIDs gives every request an id and keeps internal text out of
// answers. The id is the request's X-Request-Id when that is a short
// token (RFC 9110 token characters, at most 64), else a new random one; it
// is set on the answer's X-Request-Id and in the request's context
// (RequestID; LogRequestIDs adds it to log records).
//
// A 5xx answer's body, unless ServerError wrote it, is replaced by the
// generic one ServerError writes, and the original is logged with the id:
// a handler that forgets to hide an error's detail cannot leak it. A nil
// log is slog.Default(). WithAccessLog adds a line per request.
func RequestIDs(h http.Handler, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	var o idOptions
	for _, opt := range opts {
		opt(&o)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(RequestIDHeader, id)
		req := &request{id: id, arrived: time.Now()}
		// The count is of what the client gets, below the scrubbing.
		cw := &countingWriter{ResponseWriter: w}
		sw := &scrubWriter{ResponseWriter: cw, req: req}
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
		h.ServeHTTP(sw, r)
		if o.access != nil {
			defer logAccess(o.access, r, req, cw) // after the withheld body's line
		}
		if sw.withheld != nil {
			log.LogAttrs(r.Context(), slog.LevelError, "the body of a "+strconv.Itoa(sw.status)+" answer was withheld from the client",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", r.Pattern),
				slog.String("path", r.URL.Path), slog.String("body", sw.withheld.String()))
		}
	})
}

// saneRequestID reports whether id, sent by a client, may be used as is:
// 1 to 64 RFC 9110 token characters, nothing that could break a header,
// a log line or a terminal.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		isAlnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !isAlnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// PassServerErrors lets the 5xx bodies of r's answer through unchanged.
// Only for callers that are trialwatch itself (the data services' Connect
// clients, holding the internal service credential): they act on the error
// codes those bodies carry and log their text; nobody else sees it.
func PassServerErrors(r *http.Request) {
	if req := requestOf(r.Context()); req != nil {
		req.pass = true
	}
}

// ServerError answers a failure that is not the client's: the server's own
// (500) or an upstream service's (502, 503, 504). err, with the request's
// id, goes to log (nil: slog.Default(); a nil err is not logged); the
// client gets only a generic message and the id to quote:
// {"error": "internal error", "request_id": "..."}, or "bad gateway",
// "service unavailable", "gateway timeout". A status outside 500-599 is
// answered as 500.
func ServerError(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, err error) {
	ServerErrorWith(w, r, log, status, err, nil)
}

// ServerErrorWith is ServerError with fields of the server's own making
// added to the body beside the generic message, such as which upstream
// failed ("sources": {"subject": "timeout"}): never text from an error.
func ServerErrorWith(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, err error, fields map[string]any) {
	if status < 500 || status > 599 {
		status = http.StatusInternalServerError
	}
	req := requestOf(r.Context())
	if req == nil {
		// Served without RequestIDs (a test mounting a handler alone):
		// the answer and the log line still share an id.
		req = &request{id: rand.Text()}
		w.Header().Set(RequestIDHeader, req.id)
	}
	req.generic = true
	if err != nil {
		if log == nil {
			log = slog.Default()
		}
		log.LogAttrs(r.Context(), slog.LevelError, "answered "+strconv.Itoa(status),
			slog.String("request_id", req.id), slog.String("method", r.Method), slog.String("route", r.Pattern),
			slog.String("error", err.Error()))
	}
	writeGeneric(w, status, req.id, fields)
}

// writeGeneric writes the body every 5xx answer has, with fields.
func writeGeneric(w http.ResponseWriter, status int, id string, fields map[string]any) {
	msg := "internal error"
	if status != http.StatusInternalServerError {
		msg = strings.ToLower(http.StatusText(status))
		if msg == "" {
			msg = "server error"
		}
	}
	body := map[string]any{"error": msg, "request_id": id}
	for k, v := range fields {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	Write(w, status, body)
}

// scrubWriter replaces a 5xx body ServerError did not write.
type scrubWriter struct {
	http.ResponseWriter
	req    *request
	status int // 0 until the status is sent
	// withheld is what the handler wrote of a replaced 5xx body, for the
	// log; nil when the body is passed on.
	withheld *bytes.Buffer
}

func (w *scrubWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 {
		// 1xx answers come before the final one; a second final status
		// is the server's to complain about.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.status = code
	if code < 500 || w.req.generic || w.req.pass {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.withheld = new(bytes.Buffer)
	hd := w.Header()
	for _, k := range []string{"Content-Length", "Content-Disposition", "Content-Encoding"} {
		hd.Del(k)
	}
	writeGeneric(w.ResponseWriter, code, w.req.id, nil)
}

func (w *scrubWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.withheld == nil {
		return w.ResponseWriter.Write(b)
	}
	if room := maxWithheld - w.withheld.Len(); room > 0 {
		w.withheld.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// FlushError commits the status as the server would, so a handler that
// flushes before writing cannot have a later 5xx replace a 200.
func (w *scrubWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.withheld != nil {
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that test for http.Flusher.
func (w *scrubWriter) Flush() { w.FlushError() }

// Unwrap lets http.ResponseController reach the connection (deadlines,
// full duplex).
func (w *scrubWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// LogRequestIDs wraps a log handler so that every record logged with a
// request's context (slog's ...Context methods, LogAttrs) carries the
// request's id as request_id, matching the answer's X-Request-Id.
func LogRequestIDs(h slog.Handler) slog.Handler { return idLogHandler{h} }

type idLogHandler struct{ slog.Handler }

func (h idLogHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" && !hasRequestID(rec) {
		rec = rec.Clone()
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func hasRequestID(rec slog.Record) bool {
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		found = a.Key == "request_id"
		return !found
	})
	return found
}

func (h idLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return idLogHandler{h.Handler.WithAttrs(as)}
}

func (h idLogHandler) WithGroup(name string) slog.Handler {
	return idLogHandler{h.Handler.WithGroup(name)}
}
