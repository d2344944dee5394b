package page

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/trialwatch/trialwatch/access"
)

// APIClient calls the JSON API in process, as the user whose session a
// page request carries.
type APIClient struct {
	h http.Handler
}

// NewAPIClient calls h, the public listener's router (or another handler
// that reads the session's token, such as the admin listener's).
func NewAPIClient(h http.Handler) *APIClient { return &APIClient{h: h} }

// StudyAPI is the API path of a study's resource.
func StudyAPI(study string, parts ...string) string {
	p := "/api/v1/studies/" + url.PathEscape(study)
	for _, part := range parts {
		p += "/" + url.PathEscape(part)
	}
	return p
}

// Severities are the findings' severities as the API names them, most
// severe first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

// APIError is an API answer other than 2xx: its status and message.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Answer is an API answer, whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Err is the answer as an *APIError unless it is a success.
func (a Answer) Err() error {
	if a.Status >= 200 && a.Status < 300 {
		return nil
	}
	var body struct {
		Error string `json:"error"`
	}
	msg := http.StatusText(a.Status)
	if json.Unmarshal(a.Body, &body) == nil && body.Error != "" {
		msg = body.Error
	}
	return &APIError{Status: a.Status, Message: msg}
}

// Do runs one API request for the page request r: its context (request
// id, cancellation), its client address (rate limits, audit records) and
// the session's token as the bearer credential.
func (c *APIClient) Do(r *http.Request, method, path, contentType string, body io.Reader) Answer {
	req, err := c.request(r, method, path, contentType, body)
	if err != nil {
		return Answer{Status: http.StatusBadRequest, Body: errorBody(err.Error())}
	}
	rec := &recorder{header: http.Header{}}
	c.h.ServeHTTP(rec, req)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return Answer{Status: rec.code, Header: rec.header, Body: rec.body.Bytes()}
}

// request is the API request made for the page request r.
func (c *APIClient) request(r *http.Request, method, path, contentType string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		req.Body = http.NoBody // as a server hands every handler
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("User-Agent", r.UserAgent())
	if token, ok := access.SessionToken(r); ok {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req, nil
}

// Get decodes the JSON answer of GET path into v.
func (c *APIClient) Get(r *http.Request, path string, v any) error {
	return decode(c.Do(r, http.MethodGet, path, "", nil), v)
}

// Send sends in as JSON with method to path and decodes the answer into
// out (nil: drop it).
func (c *APIClient) Send(r *http.Request, method, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return decode(c.Do(r, method, path, "application/json", bytes.NewReader(b)), out)
}

func decode(a Answer, v any) error {
	if err := a.Err(); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(a.Body, v); err != nil {
		return fmt.Errorf("reading the API's answer: %w", err)
	}
	return nil
}

func errorBody(msg string) []byte {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return b
}

// recorder keeps an in-process answer.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}

// Flush lets streaming handlers (exports) flush; the recorder keeps all.
func (r *recorder) Flush() {}

// Query joins a path and its query parameters, leaving out those whose
// value is empty.
func Query(path string, params ...string) string {
	var b strings.Builder
	b.WriteString(path)
	sep := "?"
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(params[i])
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(params[i+1]))
		sep = "&"
	}
	return b.String()
}

// Forward runs one API request for the page request r and streams its
// answer to w as it comes (exports of any size), keeping the API's
// Content-Type and Content-Disposition. An answer other than 2xx is not
// passed on: it is returned, for the page to show, and nothing is written.
func (c *APIClient) Forward(w http.ResponseWriter, r *http.Request, path string) error {
	req, err := c.request(r, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	fw := &forwarder{w: w}
	c.h.ServeHTTP(fw, req)
	if fw.failed != nil {
		return fw.failed.Err()
	}
	if !fw.started { // an empty 2xx answer
		fw.WriteHeader(http.StatusOK)
	}
	return nil
}

// forwarder passes a 2xx answer through and keeps any other.
type forwarder struct {
	w       http.ResponseWriter
	header  http.Header
	started bool
	failed  *Answer
}

func (f *forwarder) Header() http.Header {
	if f.header == nil {
		f.header = http.Header{}
	}
	return f.header
}

func (f *forwarder) WriteHeader(code int) {
	if f.started || f.failed != nil {
		return
	}
	if code < 200 || code > 299 {
		f.failed = &Answer{Status: code, Header: f.header}
		return
	}
	f.started = true
	for _, k := range []string{"Content-Type", "Content-Disposition", "Cache-Control", "X-Content-Type-Options"} {
		if v := f.header.Get(k); v != "" {
			f.w.Header().Set(k, v)
		}
	}
	f.w.WriteHeader(code)
}

func (f *forwarder) Write(b []byte) (int, error) {
	if !f.started && f.failed == nil {
		f.WriteHeader(http.StatusOK)
	}
	if f.failed != nil {
		if len(f.failed.Body) < 64<<10 { // an error message, not an export
			f.failed.Body = append(f.failed.Body, b...)
		}
		return len(b), nil
	}
	return f.w.Write(b)
}

// Flush passes the API's flushes on, so a long export arrives as it is
// written.
func (f *forwarder) Flush() {
	if f.started {
		_ = http.NewResponseController(f.w).Flush()
	}
}
