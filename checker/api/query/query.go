// Package query reads the query parameters of the checker API's
// listings strictly: a parameter the endpoint does not take, or one
// given twice, is refused with a 400 naming it, since a misspelt filter
// would otherwise list everything.
package query

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// badQuery is a query parameter's wrong value; its text names the
// parameter.
type badQuery struct{ msg string }

func (e badQuery) Error() string { return e.msg }

// Bad is parameter name's value refused, for the reason format says.
func Bad(name, format string, args ...any) error {
	return badQuery{"query parameter " + name + ": " + fmt.Sprintf(format, args...)}
}

// Params are a request's query parameters and which of them an
// endpoint read.
type Params struct {
	v    url.Values
	used map[string]bool
}

// Of reads r's query parameters.
func Of(r *http.Request) *Params { return &Params{v: r.URL.Query(), used: map[string]bool{}} }

// One is the single value of name, "" when absent.
func (q *Params) One(name string) (string, error) {
	q.used[name] = true
	switch vs := q.v[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", Bad(name, "give it once, not %d times", len(q.v[name]))
}

// List is every value of name, each split at commas, empty ones dropped.
func (q *Params) List(name string) []string {
	q.used[name] = true
	var out []string
	for _, v := range q.v[name] {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// Unknown refuses the parameters no one asked for; known lists those the
// endpoint takes, for the message.
func (q *Params) Unknown(known string) error {
	var extra []string
	for name := range q.v {
		if !q.used[name] {
			extra = append(extra, strconv.Quote(name))
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	return badQuery{"unknown query parameter " + strings.Join(extra, ", ") + " (this endpoint takes " + known + ")"}
}

// ListOf parses every value of name with parse.
func ListOf[T any](q *Params, name string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, v := range q.List(name) {
		t, err := parse(v)
		if err != nil {
			return nil, Bad(name, "%v", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Fail answers err: 400 with its text when it is a bad query (Bad,
// Unknown), else 500 with the detail, prefixed by what failed, in the
// log only.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, what string, err error) {
	if bad, ok := errors.AsType[badQuery](err); ok {
		jsonhttp.Error(w, http.StatusBadRequest, bad.msg)
		return
	}
	jsonhttp.ServerError(w, r, log, http.StatusInternalServerError, fmt.Errorf("%s: %w", what, err))
}
