package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/pilotdata"
)

// answer is what a client sees of a response: the status, every header
// but those that differ on every request, and the body.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// perRequestHeaders differ between any two requests, found or not.
var perRequestHeaders = []string{"Date", "X-Request-Id"}

func (f *accessFixture) answer(token string, r request) answer {
	f.t.Helper()
	req, err := http.NewRequest(r.method, f.api+r.path, strings.NewReader(r.body))
	if err != nil {
		f.t.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	// A 5xx answer names its request's id: that differs on every request.
	if id := resp.Header.Get("X-Request-Id"); id != "" {
		body = bytes.ReplaceAll(body, []byte(id), []byte("{request-id}"))
	}
	for _, h := range perRequestHeaders {
		resp.Header.Del(h)
	}
	return answer{resp.StatusCode, resp.Header, body}
}

// TestOthersObjectsAnswerAsMissingOnes asks, for every route that names
// an object or narrows to one, for an object the caller may not see
// (another site's subject or signal, a study it has no grant for, a user
// of studies it does not administer) and for one that does not exist, and
// requires the same status, headers and body, byte for byte: nothing in
// the answer may tell that the first exists. Where a route echoes the
// caller's own input (an upload's rows), both requests use identifiers
// of the same length, and the identifiers are the only bytes that may
// differ.
func TestOthersObjectsAnswerAsMissingOnes(t *testing.T) {
	f := newAccessFixture(t)
	ctx := context.Background()

	// Callers of another study only: a site user, a monitor, an admin.
	const otherStudy, noStudy = "OTHER01", "NOSUCH01"
	wholeStudy, oneSite := []auth.Grant{{Study: otherStudy, Site: auth.AllSites}}, []auth.Grant{{Study: otherStudy, Site: "1"}}
	for _, u := range []struct {
		name   string
		role   auth.Role
		grants []auth.Grant
	}{{"site2", auth.RoleSite, oneSite}, {"monitor2", auth.RoleMonitor, wholeStudy}, {"admin2", auth.RoleAdmin, wholeStudy}} {
		if _, err := f.n.users.AddUser(ctx, nil, u.name, u.role, u.grants, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		tok, _, err := f.n.users.CreateToken(ctx, nil, u.name, "test", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u.name] = tok
	}
	// A token of a pilot user, which admin2 does not administer.
	_, pilotToken, err := f.n.users.CreateToken(ctx, nil, "site701", "other's", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	study := pilotdata.Study
	otherSubject, otherSignal, otherSite := f.subject["other"], strconv.FormatInt(f.signal["other"], 10), f.siteOf("other")
	var maxSignal int64
	if err := f.n.db.QueryRow(`SELECT MAX(id) FROM signals`).Scan(&maxSignal); err != nil {
		t.Fatal(err)
	}
	noSignal := strconv.FormatInt(maxSignal+1_000_000, 10)
	// A subject nobody has, as long as the other site's one.
	noSubject := strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return '9'
		}
		return r
	}, otherSubject)
	var n int
	if err := f.n.db.QueryRow(`SELECT COUNT(*) FROM subjects WHERE usubjid = $1`, noSubject).Scan(&n); err != nil || n != 0 {
		t.Fatalf("subject %s exists (%d, %v): pick another", noSubject, n, err)
	}
	noSite := strings.Repeat("9", len(otherSite))

	getReq := func(path string) request { return request{method: "GET", path: path} }
	postReq := func(path string) request { return request{method: "POST", path: path} }
	patchReq := func(path string) request {
		return request{method: "PATCH", path: path, contentType: "application/json", body: `{"status":"acknowledged","reason":"seen"}`}
	}
	upload := func(subject string) request {
		return request{method: "POST", path: "/api/v1/studies/" + study + "/uploads?domain=LB&format=csv", contentType: "text/csv",
			body: labCSV(subject, 9000+f.seq.Add(1))}
	}
	studyRoutes := func(s string) []request {
		base := "/api/v1/studies/" + s
		return []request{getReq(base + "/signals"), getReq(base + "/signals?format=csv"), getReq(base + "/signals/summary"),
			getReq(base + "/signals/" + otherSignal), patchReq(base + "/signals/" + otherSignal),
			getReq(base + "/subjects"), getReq(base + "/subjects/" + otherSubject), postReq(base + "/subjects/" + otherSubject + "/checks"),
			getReq(base + "/edish"), getReq(base + "/settings"), getReq(base + "/audit"),
			{method: "PATCH", path: base + "/settings", contentType: "application/merge-patch+json", body: `{}`}}
	}

	type pair struct {
		name         string
		caller       string
		other, none  request
		echoed       [2]string // the identifiers an answer may echo: other's, missing's
		wantStatuses []int     // what the pair may answer
	}
	pairs := []pair{
		{name: "site: another site's signal", caller: "site",
			other: getReq("/api/v1/studies/" + study + "/signals/" + otherSignal), none: getReq("/api/v1/studies/" + study + "/signals/" + noSignal),
			wantStatuses: []int{http.StatusNotFound}},
		{name: "site: a check of another site's subject", caller: "site",
			other: postReq("/api/v1/studies/" + study + "/subjects/" + otherSubject + "/checks"), none: postReq("/api/v1/studies/" + study + "/subjects/" + noSubject + "/checks"),
			wantStatuses: []int{http.StatusNotFound}},
		{name: "site: another site's subject", caller: "site",
			other: getReq("/api/v1/studies/" + study + "/subjects/" + otherSubject), none: getReq("/api/v1/studies/" + study + "/subjects/" + noSubject),
			wantStatuses: []int{http.StatusNotFound}},
	}
	// Listings narrowed to another site, or its subject, find nothing,
	// as for a site or subject that does not exist; they may echo the
	// filter.
	for _, list := range []string{"/signals", "/signals?format=csv&", "/signals/summary", "/subjects", "/edish"} {
		path := "/api/v1/studies/" + study + list
		if !strings.Contains(path, "?") {
			path += "?"
		} else if !strings.HasSuffix(path, "&") {
			path += "&"
		}
		pairs = append(pairs, pair{name: "site: " + strings.TrimSuffix(list, "&") + " of another site", caller: "site",
			other: getReq(path + "site=" + otherSite), none: getReq(path + "site=" + noSite), echoed: [2]string{otherSite, noSite},
			wantStatuses: []int{http.StatusOK, http.StatusNotImplemented}})
		if list != "/subjects" && list != "/edish" {
			pairs = append(pairs, pair{name: "site: " + strings.TrimSuffix(list, "&") + " of another site's subject", caller: "site",
				other: getReq(path + "subject=" + otherSubject), none: getReq(path + "subject=" + noSubject), echoed: [2]string{otherSubject, noSubject},
				wantStatuses: []int{http.StatusOK}})
		}
	}
	pairs = append(pairs, []pair{
		{name: "site: an upload of another site's subject", caller: "site",
			other: upload(otherSubject), none: upload(noSubject), echoed: [2]string{otherSubject, noSubject},
			wantStatuses: []int{http.StatusUnprocessableEntity}},
		{name: "admin of another study: disabling a pilot user", caller: "admin2",
			other: postReq("/api/v1/users/site701/disable"), none: postReq("/api/v1/users/nouser7/disable"),
			wantStatuses: []int{http.StatusNotFound}},
		{name: "admin of another study: enabling a pilot user", caller: "admin2",
			other: postReq("/api/v1/users/site701/enable"), none: postReq("/api/v1/users/nouser7/enable"),
			wantStatuses: []int{http.StatusNotFound}},
		{name: "admin of another study: a pilot user's tokens", caller: "admin2",
			other: getReq("/api/v1/tokens?user=site701"), none: getReq("/api/v1/tokens?user=nouser7"),
			wantStatuses: []int{http.StatusNotFound}},
		{name: "admin of another study: revoking a pilot user's token", caller: "admin2",
			other:        request{method: "DELETE", path: "/api/v1/tokens/" + strconv.FormatInt(pilotToken.ID, 10)},
			none:         request{method: "DELETE", path: "/api/v1/tokens/" + strconv.FormatInt(pilotToken.ID+1_000_000, 10)},
			wantStatuses: []int{http.StatusNotFound}},
	}...)
	// A study the caller has no grant for answers as one that does not
	// exist, on every route of a study.
	for i, other := range studyRoutes(study) {
		none := studyRoutes(noStudy)[i]
		who, caller := "monitor", "monitor2"
		if other.method == "PATCH" && strings.HasSuffix(other.path, "/settings") {
			who, caller = "admin", "admin2"
		}
		pairs = append(pairs, pair{name: who + " of another study: " + other.method + " " + other.path, caller: caller,
			other: other, none: none, wantStatuses: []int{http.StatusNotFound}})
	}
	pairs = append(pairs, pair{name: "site user of another study: an upload", caller: "site2",
		other:        request{method: "POST", path: "/api/v1/studies/" + study + "/uploads?domain=LB&format=csv", contentType: "text/csv", body: labCSV(otherSubject, 1)},
		none:         request{method: "POST", path: "/api/v1/studies/" + noStudy + "/uploads?domain=LB&format=csv", contentType: "text/csv", body: labCSV(otherSubject, 1)},
		wantStatuses: []int{http.StatusNotFound}})

	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			tok := f.tokens[p.caller]
			other, none := f.answer(tok, p.other), f.answer(tok, p.none)
			if !slices.Contains(p.wantStatuses, other.status) {
				t.Errorf("%s %s: status %d, want one of %v (%s)", p.other.method, p.other.path, other.status, p.wantStatuses, other.body)
			}
			otherBody, noneBody := other.body, none.body
			if p.echoed[0] != "" {
				otherBody = bytes.ReplaceAll(otherBody, []byte(p.echoed[0]), []byte("{id}"))
				noneBody = bytes.ReplaceAll(noneBody, []byte(p.echoed[1]), []byte("{id}"))
			}
			if other.status != none.status || !bytes.Equal(otherBody, noneBody) {
				t.Errorf("another's object and a missing one answer differently:\n%s %s: %d %s\n%s %s: %d %s",
					p.other.method, p.other.path, other.status, other.body, p.none.method, p.none.path, none.status, none.body)
			}
			for _, h := range slices.Sorted(maps.Keys(other.header)) {
				if !slices.Equal(other.header[h], none.header[h]) {
					t.Errorf("header %s: %q for another's object, %q for a missing one", h, other.header[h], none.header[h])
				}
			}
			for _, h := range slices.Sorted(maps.Keys(none.header)) {
				if _, ok := other.header[h]; !ok {
					t.Errorf("header %s only for a missing object: %q", h, none.header[h])
				}
			}
		})
	}
}
