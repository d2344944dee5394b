package query_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/api/query"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func params(target string) *query.Params {
	return query.Of(httptest.NewRequest(http.MethodGet, target, nil))
}

func TestParams(t *testing.T) {
	q := params("/x?site=701&rule=a,%20b,,c&rule=d&limit=1&limit=2&colour=red")
	if v, err := q.One("site"); v != "701" || err != nil {
		t.Errorf("site: %q %v", v, err)
	}
	if v, err := q.One("absent"); v != "" || err != nil {
		t.Errorf("absent: %q %v", v, err)
	}
	if got := q.List("rule"); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("rule: %q, want each value split at commas, blanks dropped", got)
	}
	if _, err := q.One("limit"); err == nil || !strings.Contains(err.Error(), "query parameter limit: give it once, not 2 times") {
		t.Errorf("limit given twice: %v", err)
	}
	err := q.Unknown("site, rule, limit")
	if err == nil || err.Error() != `unknown query parameter "colour" (this endpoint takes site, rule, limit)` {
		t.Errorf("unknown: %v", err)
	}
	if _, err := query.ListOf(params("/x?n=1,two"), "n", strconv.Atoi); err == nil || !strings.HasPrefix(err.Error(), "query parameter n: ") {
		t.Errorf("ListOf with a bad value: %v", err)
	}
}

// Fail tells the client what was wrong with its query, and nothing of
// any other failure.
func TestFail(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	rec := httptest.NewRecorder()
	query.Fail(rec, r, nil, "listing", query.Bad("limit", "want a whole number, got %q", "ten"))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `query parameter limit: want a whole number, got \"ten\"`) {
		t.Errorf("bad query: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	query.Fail(rec, r, nil, "listing", errors.New("pq: relation signals does not exist"))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "relation") {
		t.Errorf("store failure: %d %s", rec.Code, rec.Body)
	}
}
