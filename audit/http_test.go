package audit_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func serve(t *testing.T, l *audit.Log, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	audit.NewAPI(l, nil).Register(mux)
	req := httptest.NewRequest(http.MethodGet, target, nil)
	// An admin of every study: what the API answers such a caller is
	// under test here, not who may call it.
	req = req.WithContext(auth.NewContext(req.Context(), auth.Identity{Name: "root", Role: auth.RoleAdmin}))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	return w
}

type page struct {
	Records   []audit.Record `json:"records"`
	NextAfter *int64         `json:"next_after"`
}

func decode(t *testing.T, w *httptest.ResponseRecorder) page {
	t.Helper()
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var p page
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Records == nil {
		t.Fatalf("records missing or null: %s", w.Body)
	}
	return p
}

func TestHTTPJSON(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		stored := seed(t, l)

		p := decode(t, serve(t, l, "/api/v1/studies/S/audit"))
		if !reflect.DeepEqual(seqs(p.Records), []int64{1, 2, 5, 6}) || p.NextAfter != nil {
			t.Fatalf("study S: seqs %v, next_after %v", seqs(p.Records), p.NextAfter)
		}
		for _, r := range p.Records {
			want := stored[r.Seq-1]
			if !r.At.Equal(want.At) {
				t.Errorf("record %d: at %v, want %v", r.Seq, r.At, want.At)
			}
			r.At = want.At
			if r != want {
				t.Errorf("record %d:\n%+v\nwant\n%+v", r.Seq, r, want)
			}
		}

		p = decode(t, serve(t, l, "/api/v1/audit?actor=jane"))
		if !reflect.DeepEqual(seqs(p.Records), []int64{1, 3, 5}) {
			t.Fatalf("all studies, jane: seqs %v", seqs(p.Records))
		}
		if p = decode(t, serve(t, l, "/api/v1/studies/U/audit")); len(p.Records) != 0 {
			t.Fatalf("unknown study: %v", seqs(p.Records))
		}

		// Paging: next_after only while more records follow.
		var got []int64
		after := int64(0)
		for range 3 {
			p = decode(t, serve(t, l, "/api/v1/studies/S/audit?limit=2&after="+strconv.FormatInt(after, 10)))
			got = append(got, seqs(p.Records)...)
			if p.NextAfter == nil {
				break
			}
			after = *p.NextAfter
		}
		if !reflect.DeepEqual(got, []int64{1, 2, 5, 6}) || after != 2 {
			t.Fatalf("paged seqs %v, last next_after %d; want 1 2 5 6 in two pages", got, after)
		}
	})
}

func TestHTTPCSV(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		stored := seed(t, l)
		odd, err := l.Append(t.Context(), audit.Record{Actor: "jane", Study: `Étude "7", a`, Entity: "signal", Action: "status", New: `"x,y"`})
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, odd)
		// Cells a spreadsheet would run: a user name that is one, and
		// values that begin like one.
		formula, err := l.Append(t.Context(), audit.Record{Actor: "-2+3", Study: "S", Entity: "login", EntityID: "=cmd|' /C calc'!A0",
			Action: "@SUM(1)", New: "-1", Source: "+1"})
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, formula)

		for _, tc := range []struct {
			name, target, accept string
			study                string // "" for all studies
			csv                  bool
		}{
			{"format=csv", "/api/v1/studies/S/audit?format=csv", "", "S", true},
			{"Accept text/csv", "/api/v1/studies/S/audit", "text/csv", "S", true},
			{"Accept ranks csv first", "/api/v1/studies/S/audit", "application/json;q=0.5, text/csv", "S", true},
			{"Accept text/*", "/api/v1/studies/S/audit", "text/*, application/json;q=0.1", "S", true},
			{"Accept ranks json first", "/api/v1/studies/S/audit", "application/json, text/csv;q=0.5", "S", false},
			{"Accept anything", "/api/v1/studies/S/audit", "*/*", "S", false},
			{"browser", "/api/v1/studies/S/audit", "text/html,application/xhtml+xml,*/*;q=0.8", "S", false},
			{"format=json beats Accept", "/api/v1/studies/S/audit?format=json", "text/csv", "S", false},
			{"all studies", "/api/v1/audit?format=csv", "", "", true},
			{"odd study name", "/api/v1/studies/" + url.PathEscape(odd.Study) + "/audit?format=csv", "", odd.Study, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := serve(t, l, tc.target, "Accept", tc.accept)
				var want []audit.Record
				for _, r := range stored {
					if tc.study == "" || r.Study == tc.study {
						want = append(want, r)
					}
				}
				if !tc.csv {
					if p := decode(t, w); !reflect.DeepEqual(seqs(p.Records), seqs(want)) {
						t.Fatalf("JSON seqs %v, want %v", seqs(p.Records), seqs(want))
					}
					return
				}
				if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
					t.Fatalf("status %d, Content-Type %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
				}
				disp, params, err := mime.ParseMediaType(w.Header().Get("Content-Disposition"))
				wantName := "audit.csv"
				if tc.study != "" {
					wantName = "audit-" + tc.study + ".csv"
				}
				if err != nil || disp != "attachment" || params["filename"] != wantName {
					t.Errorf("Content-Disposition %q: %s %v, %v; want attachment, filename %q", w.Header().Get("Content-Disposition"), disp, params, err, wantName)
				}
				rows, err := csv.NewReader(w.Body).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				header := []string{"seq", "at", "actor", "role", "study", "entity", "entity_id", "action", "old", "new", "source", "prev_hash", "hash"}
				if len(rows) == 0 || !reflect.DeepEqual(rows[0], header) {
					t.Fatalf("header %q, want %q", rows[:min(1, len(rows))], header)
				}
				if len(rows)-1 != len(want) {
					t.Fatalf("%d rows, want %d", len(rows)-1, len(want))
				}
				for i, row := range rows[1:] {
					r := want[i]
					wantRow := []string{strconv.FormatInt(r.Seq, 10), r.At.Format("2006-01-02T15:04:05.000Z"), r.Actor, r.Role, r.Study,
						r.Entity, r.EntityID, r.Action, r.Old, r.New, r.Source, r.PrevHash, r.Hash}
					if r.Seq == formula.Seq {
						wantRow[2], wantRow[6], wantRow[7], wantRow[9], wantRow[10] = "'-2+3", "'=cmd|' /C calc'!A0", "'@SUM(1)", "'-1", "'+1"
					}
					if !reflect.DeepEqual(row, wantRow) {
						t.Errorf("row %d:\n%q\nwant\n%q", i+1, row, wantRow)
					}
					if at, err := time.Parse(time.RFC3339, row[1]); err != nil || !at.Equal(r.At) {
						t.Errorf("row %d: at %q reads as %v, %v", i+1, row[1], at, err)
					}
				}
			})
		}

		// Paging survives CSV, in a header.
		w := serve(t, l, "/api/v1/studies/S/audit?format=csv&limit=3")
		if got := w.Header().Get(audit.NextAfterHeader); got != "5" {
			t.Errorf("%s = %q, want 5", audit.NextAfterHeader, got)
		}
	})
}

func TestHTTPBadRequests(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		seed(t, l)
		for target, want := range map[string]string{
			"/api/v1/studies/S/audit?limit=0":             "query parameter limit",
			"/api/v1/studies/S/audit?from=soon":           `query parameter from: want an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02), got "soon"`,
			"/api/v1/studies/S/audit?user=jane":           `unknown query parameter "user"`,
			"/api/v1/audit?study=S":                       `unknown query parameter "study"`,
			"/api/v1/audit?format=xml":                    `query parameter format: want csv or json, got "xml"`,
			"/api/v1/studies/S%00/audit":                  "study in the path",
			"/api/v1/studies/S/audit?actor=a&actor=b":     "given 2 times",
			"/api/v1/studies/S/audit?after=-3&format=csv": "query parameter after",
		} {
			w := serve(t, l, target, "Accept", "text/csv")
			var body struct{ Error string }
			if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.Contains(body.Error, want) {
				t.Errorf("GET %s: %d %s; want 400 with an error containing %q", target, w.Code, w.Body, want)
			}
		}
	})
}

// TestHTTPHostileFilters feeds SQL and LIKE syntax, NUL bytes and huge
// values into every filter: each is a value to match, never SQL.
func TestHTTPHostileFilters(t *testing.T) {
	hostile := []string{
		`' OR 1=1 --`, `' OR '1'='1`, `"; DROP TABLE audit_log; --`, `'; DELETE FROM audit_log; --`,
		`1; SELECT pg_sleep(10)`, `S' UNION SELECT * FROM audit_log --`, `%`, `_`, `%%`, `\`, `\'`, `\\'`,
		"a\x00b", "\x00", "\xff\xfe", `$1`, `?`, `)`, "*/", "/*", strings.Repeat("A", 1000), strings.Repeat("'", 5000),
		strings.Repeat("%", 100_000), "jane\n", " jane", "JANE", "S\t",
	}
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		stored := seed(t, l)
		check := func(target string) {
			t.Helper()
			for _, accept := range []string{"", "text/csv"} {
				w := serve(t, l, target, "Accept", accept)
				switch {
				case w.Code == http.StatusBadRequest:
				case w.Code == http.StatusOK && accept == "":
					if p := decode(t, w); len(p.Records) != 0 {
						t.Errorf("GET %.100s: %d records, want none", target, len(p.Records))
					}
				case w.Code == http.StatusOK:
					if rows, err := csv.NewReader(w.Body).ReadAll(); err != nil || len(rows) != 1 {
						t.Errorf("GET %.100s as CSV: %d rows, %v; want the header only", target, len(rows), err)
					}
				default:
					t.Errorf("GET %.100s: %d %.200s; want 400 or 200", target, w.Code, w.Body)
				}
			}
		}
		for _, v := range hostile {
			for _, param := range []string{"actor", "entity", "entity_id", "action", "from", "to", "after", "limit", "format"} {
				check("/api/v1/studies/S/audit?" + url.Values{param: {v}}.Encode())
				check("/api/v1/audit?" + url.Values{param: {v}}.Encode())
			}
			check("/api/v1/audit?" + url.Values{v: {"x"}}.Encode())
			check("/api/v1/studies/" + url.PathEscape(v) + "/audit")
		}
		// The table is whole, and a hostile value stored is found exactly.
		verifyOK(t, l, int64(len(stored)))
		r := rec(`' OR 1=1 --`, `"; DROP TABLE audit_log; --`)
		if _, err := l.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		p := decode(t, serve(t, l, "/api/v1/studies/S/audit?"+url.Values{"actor": {r.Actor}, "entity_id": {r.EntityID}}.Encode()))
		if len(p.Records) != 1 || p.Records[0].Actor != r.Actor || p.Records[0].EntityID != r.EntityID {
			t.Fatalf("stored hostile values: found %+v", p.Records)
		}
		verifyOK(t, l, int64(len(stored))+1)
	})
}

// The whole trail spans every study: an admin granted only some studies
// is refused it, an admin of every study is not. A study's trail is for
// callers granted that study. Mounted without the access layer, the API
// still refuses a request without an identity.
func TestHTTPWholeTrailNeedsAnAdminOfEveryStudy(t *testing.T) {
	l := open(t, sqldbtest.SQLite(t))
	appendN(t, l, 1)
	mux := http.NewServeMux()
	audit.NewAPI(l, nil).Register(mux)
	root := &auth.Identity{Name: "root", Role: auth.RoleAdmin}
	admin1 := &auth.Identity{Name: "a1", Role: auth.RoleAdmin, Grants: []auth.Grant{{Study: "S", Site: auth.AllSites}}}
	monitor := &auth.Identity{Name: "m", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S", Site: auth.AllSites}}}
	for _, tc := range []struct {
		path string
		id   *auth.Identity
		want int
	}{
		{"/api/v1/audit", root, http.StatusOK},
		{"/api/v1/audit", admin1, http.StatusForbidden},
		{"/api/v1/audit", monitor, http.StatusForbidden},
		{"/api/v1/audit", nil, http.StatusUnauthorized},
		{"/api/v1/studies/S/audit", monitor, http.StatusOK},
		{"/api/v1/studies/T/audit", monitor, http.StatusNotFound},
		{"/api/v1/studies/T/audit", root, http.StatusOK},
		{"/api/v1/studies/S/audit", nil, http.StatusUnauthorized},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		name := "no identity"
		if tc.id != nil {
			req = req.WithContext(auth.NewContext(req.Context(), *tc.id))
			name = fmt.Sprintf("%s (%s, %d grants)", tc.id.Name, tc.id.Role, len(tc.id.Grants))
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s: GET %s: %d, want %d", name, tc.path, w.Code, tc.want)
		}
	}
}
