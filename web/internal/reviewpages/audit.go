package reviewpages

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/web/internal/page"
)

// auditRecord is one record as GET /audit answers it.
type auditRecord struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Role     string    `json:"role"`
	Entity   string    `json:"entity"`
	EntityID string    `json:"entity_id"`
	Action   string    `json:"action"`
	Old      string    `json:"old"`
	New      string    `json:"new"`
	Source   string    `json:"source"`
}

// auditFilters are the audit API's filters, by the names the page and
// the API share; "to" on the page includes its day (see auditQuery).
var auditFilters = []string{"actor", "entity", "entity_id", "action", "from", "to", "limit"}

// auditExportLimit is the most records the API answers at once, which an
// export asks for.
const auditExportLimit = 10000

type auditPage struct {
	Filter  map[string]string
	Records []auditRow
	Error   string
	// Next and First page the trail by sequence number; Export is the
	// CSV of the records from this page on.
	Next, First, Export string
	ExportLimit         int
	PageSizes           []string
}

type auditRow struct {
	auditRecord
	// Changes are the fields Old and New differ in, when both are JSON
	// objects; otherwise the page shows the two texts.
	Changes []fieldChange
	// Link is the page of what the record is about, where there is one.
	Link string
}

type fieldChange struct{ Field, Old, New string }

// audit shows a study's audit trail with the API's filters and paging.
func (s *Pages) audit(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	q := r.URL.Query()
	p := auditPage{Filter: map[string]string{}, ExportLimit: auditExportLimit, PageSizes: []string{"50", "100", "500"}}
	for _, name := range auditFilters {
		p.Filter[name] = strings.TrimSpace(q.Get(name))
	}
	after := strings.TrimSpace(q.Get("after"))
	if p.Filter["limit"] == "" {
		p.Filter["limit"] = "100"
	}
	api := auditQuery(p.Filter)
	if after != "" {
		api.Set("after", after)
	}
	var out struct {
		Records   []auditRecord `json:"records"`
		NextAfter int64         `json:"next_after"`
	}
	err := s.api.Get(r, page.StudyAPI(study, "audit")+"?"+api.Encode(), &out)
	var ae *page.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		p.Error = ae.Message
	case err != nil:
		s.pages.APIFailed(w, r, err)
		return
	}
	for _, rec := range out.Records {
		p.Records = append(p.Records, auditRow{auditRecord: rec, Changes: fieldChanges(rec.Old, rec.New), Link: auditLink(study, rec)})
	}
	base := "/ui/studies/" + url.PathEscape(study) + "/audit"
	kept := url.Values{} // the filters, for the page's links
	for k, v := range p.Filter {
		if v != "" {
			kept.Set(k, v)
		}
	}
	if out.NextAfter != 0 {
		next := cloneValues(kept)
		next.Set("after", strconv.FormatInt(out.NextAfter, 10))
		p.Next = base + "?" + next.Encode()
	}
	if after != "" {
		p.First = base + "?" + kept.Encode()
	}
	export := cloneValues(kept)
	export.Del("limit")
	if after != "" {
		export.Set("after", after)
	}
	p.Export = base + ".csv?" + export.Encode()
	s.pages.Render(w, r, http.StatusOK, "audit", page.Page{Title: "Audit trail · " + study, Nav: "audit", Data: p})
}

// exportAudit streams the API's CSV of the records the filters select,
// as many as one answer holds.
func (s *Pages) exportAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := map[string]string{}
	for _, name := range auditFilters {
		f[name] = strings.TrimSpace(q.Get(name))
	}
	f["limit"] = strconv.Itoa(auditExportLimit)
	api := auditQuery(f)
	if after := strings.TrimSpace(q.Get("after")); after != "" {
		api.Set("after", after)
	}
	api.Set("format", "csv")
	if err := s.api.Forward(w, r, page.StudyAPI(r.PathValue("study"), "audit")+"?"+api.Encode()); err != nil {
		s.pages.APIFailed(w, r, err)
	}
}

// auditQuery is the page's filter in the API's terms: a "to" date
// includes its day on the page, while the API's "to" is exclusive.
func auditQuery(f map[string]string) url.Values {
	v := url.Values{}
	for k, x := range f {
		if x == "" {
			continue
		}
		if k == "to" {
			if d, err := time.Parse(time.DateOnly, x); err == nil {
				x = d.AddDate(0, 0, 1).Format(time.DateOnly)
			}
		}
		v.Set(k, x)
	}
	return v
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = slices.Clone(x)
	}
	return out
}

// fieldChanges lists the fields two JSON objects differ in, nil when either
// is not an object.
func fieldChanges(oldJSON, newJSON string) []fieldChange {
	var before, after map[string]any
	if oldJSON != "" && json.Unmarshal([]byte(oldJSON), &before) != nil {
		return nil
	}
	if newJSON != "" && json.Unmarshal([]byte(newJSON), &after) != nil {
		return nil
	}
	if before == nil && after == nil {
		return nil
	}
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []fieldChange
	for _, k := range keys {
		o, n := compact(before[k]), compact(after[k])
		if o != n {
			out = append(out, fieldChange{Field: k, Old: o, New: n})
		}
	}
	return out
}

// compact is a JSON value as short text: strings without quotes.
func compact(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// auditLink is the page a record's entity has in the UI, if any.
func auditLink(study string, rec auditRecord) string {
	if rec.Entity == "signal" && rec.EntityID != "" {
		if _, err := strconv.ParseInt(rec.EntityID, 10, 64); err == nil {
			return "/ui/studies/" + url.PathEscape(study) + "/findings/" + rec.EntityID
		}
	}
	return ""
}
