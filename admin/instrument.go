package admin

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestCounter counts requests by route pattern and status, the request
// rate that leak alerts compare goroutine growth with.
type RequestCounter struct{ total *prometheus.CounterVec }

// NewRequestCounter registers trialwatch_http_requests_total with reg.
func NewRequestCounter(reg prometheus.Registerer) *RequestCounter {
	c := &RequestCounter{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trialwatch_http_requests_total", Help: "HTTP requests served, by route pattern and status code.",
	}, []string{"route", "code"})}
	reg.MustRegister(c.total)
	return c
}

// Wrap counts the requests next serves. The route is the ServeMux pattern
// that matched, never the raw path, so cardinality stays bounded.
func (c *RequestCounter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		c.total.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes on: streaming answers (Connect server streams, CSV
// exports) need them, and they type-assert http.Flusher rather than use
// http.ResponseController.
func (w *statusWriter) Flush() {
	// A writer below that cannot flush sends the answer when it ends.
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
