package jsonhttp

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// SetUser names who a request is served for, once its credentials are
// checked, for its access-log line (WithAccessLog). Never a token.
func SetUser(ctx context.Context, name string) {
	if req := requestOf(ctx); req != nil {
		req.user.Store(&name)
	}
}

// Option configures RequestIDs.
type Option func(*idOptions)

type idOptions struct{ access *slog.Logger }

// WithAccessLog makes RequestIDs write one line per request to log once it
// is answered: method, route pattern ("" when no route matched), status
// and bytes of the body as the client got them (a withheld 5xx body's
// replacement), duration, request id and user (SetUser; "" when none). It
// never logs the path's values, the query or any header, so no token or
// identifier of a subject reaches the log.
//
// A 5xx line is at level error, other lines at info, except the calls one
// service makes to another (user ServiceUser) that succeed: in split mode
// every check makes three, which would bury the people's requests, so
// they log at debug.
func WithAccessLog(log *slog.Logger) Option { return func(o *idOptions) { o.access = log } }

// logAccess writes r's access-log line; r is the request the handler got,
// on which the mux set the route pattern.
func logAccess(log *slog.Logger, r *http.Request, req *request, cw *countingWriter) {
	status := cw.status
	if status == 0 {
		status = http.StatusOK // a handler that wrote nothing
	}
	user := ""
	if u := req.user.Load(); u != nil {
		user = *u
	}
	log.LogAttrs(r.Context(), accessLevel(status, user), "request",
		slog.String("method", r.Method), slog.String("route", r.Pattern), slog.Int("status", status),
		slog.Int64("bytes", cw.bytes), slog.Float64("duration_ms", float64(time.Since(req.arrived).Microseconds())/1000),
		slog.String("request_id", req.id), slog.String("user", user))
}

// ServiceUser is the name SetUser gives requests made with the internal
// credential one service uses to call another.
const ServiceUser = "(service)"

func accessLevel(status int, user string) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case user == ServiceUser && status < 400:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// countingWriter notes the status and counts the body's bytes.
type countingWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on, for handlers that test for http.Flusher
// (Connect server streams, CSV exports).
func (w *countingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
