package web

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
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	if err != nil {
		return Answer{Status: http.StatusBadRequest, Body: errorBody(err.Error())}
	}
	req.RemoteAddr = r.RemoteAddr
	req.Header.Set("User-Agent", r.UserAgent())
	if token, ok := access.SessionToken(r); ok {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := &recorder{header: http.Header{}}
	c.h.ServeHTTP(rec, req)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return Answer{Status: rec.code, Header: rec.header, Body: rec.body.Bytes()}
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

// query joins a path and its query parameters.
func query(path string, params ...string) string {
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
