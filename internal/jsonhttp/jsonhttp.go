// Package jsonhttp writes the JSON answers of trialwatch's HTTP APIs, so
// every endpoint answers, and reports errors, the same way.
package jsonhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Write answers with v as indented JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Error answers {"error": msg}.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}

// NotFound answers 404 {"error": "not found"}: the one answer, byte for
// byte, to a request for anything that does not exist or that the caller
// may not see (another study, another site's subject or signal), so that
// no answer tells the two apart. It names nothing from the request.
func NotFound(w http.ResponseWriter) {
	Error(w, http.StatusNotFound, "not found")
}

// DecodeBody reads r's JSON body into v, refusing unknown fields and
// bodies of more than limit bytes. On a bad body it answers the client
// itself and returns false: 413 past the limit (or a smaller one the
// router set), 400 naming the problem and what the call wants otherwise.
func DecodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any, want string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return true
	}
	if !TooLarge(w, err) {
		Error(w, http.StatusBadRequest, "request body: "+err.Error()+" (want "+want+")")
	}
	return false
}

// TooLarge answers 413 when err is a body passing its limit
// (http.MaxBytesReader), and says whether it did.
func TooLarge(w http.ResponseWriter, err error) bool {
	var tooBig *http.MaxBytesError
	if !errors.As(err, &tooBig) {
		return false
	}
	Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes, the most this call takes", tooBig.Limit))
	return true
}

// Mux is where an API mounts its routes: an *http.ServeMux, or the access
// router that enforces who may call each route and lists every route it
// was given.
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// CheckText refuses query parameters and path segments that cannot be
// text: invalid UTF-8, NUL or other control characters. Databases treat
// such bytes differently (PostgreSQL rejects NUL outright), so they are
// turned away with a 400 before any query sees them.
func CheckText(r *http.Request) error {
	bad := func(s string) bool {
		if !utf8.ValidString(s) {
			return true
		}
		for _, c := range s {
			if c < 0x20 || c == 0x7f {
				return true
			}
		}
		return false
	}
	if bad(r.URL.Path) {
		return fmt.Errorf("the path %q holds bytes that are not text", r.URL.Path)
	}
	for name, values := range r.URL.Query() {
		if bad(name) {
			return fmt.Errorf("a query parameter name %q holds bytes that are not text", name)
		}
		for _, v := range values {
			if bad(v) {
				return fmt.Errorf("query parameter %s: %q holds bytes that are not text", name, v)
			}
		}
	}
	return nil
}

// TextOnly answers 400 to a request CheckText refuses, else runs h.
func TextOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := CheckText(r); err != nil {
			Error(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r)
	}
}
