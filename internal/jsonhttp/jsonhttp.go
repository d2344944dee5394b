// Package jsonhttp writes the JSON answers of trialwatch's HTTP APIs, so
// every endpoint answers, and reports errors, the same way.
package jsonhttp

import (
	"encoding/json"
	"net/http"
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

// Mux is where an API mounts its routes: an *http.ServeMux, or the access
// router that enforces who may call each route and lists every route it
// was given.
type Mux interface {
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}
