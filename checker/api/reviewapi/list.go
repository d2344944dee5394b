package reviewapi

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/api/query"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Paging limits for the signal list; MaxPageSize is also the most
// findings a subject profile shows at once.
const (
	defaultPageSize = 50
	MaxPageSize     = 500
)

// parseRule accepts the rules a signal can have.
func parseRule(s string) (clinical.Rule, error) {
	r := clinical.Rule(strings.ToUpper(s))
	if slices.Contains(rules.Settable, r) || r == clinical.RuleCheckIncomplete {
		return r, nil
	}
	names := make([]string, len(rules.Settable))
	for i, r := range rules.Settable {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown rule %q (want one of %s)", s, strings.Join(names, ", "))
}

// parseDay reads an ISO 8601 full date.
func parseDay(name, v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if _, err := time.Parse(time.DateOnly, v); err != nil {
		return "", query.Bad(name, "want a date such as 2014-01-31, got %q", v)
	}
	return v, nil
}

// filterParams are the query parameters that select signals, for every
// endpoint that does.
const filterParams = "rule, status, severity, min_severity, site, subject, from, to"

// signalFilter reads the filters of a signal listing from q, narrowed to
// the caller's sites.
func signalFilter(r *http.Request, q *query.Params) (signals.Filter, error) {
	f := signals.Filter{Study: r.PathValue("study")}
	var err error
	if f.Rules, err = query.ListOf(q, "rule", parseRule); err != nil {
		return f, err
	}
	if f.Statuses, err = query.ListOf(q, "status", clinical.ParseSignalStatus); err != nil {
		return f, err
	}
	if f.Severities, err = query.ListOf(q, "severity", clinical.ParseSeverity); err != nil {
		return f, err
	}
	v, err := q.One("min_severity")
	if err != nil {
		return f, err
	}
	if v != "" {
		if f.MinSeverity, err = clinical.ParseSeverity(v); err != nil {
			return f, query.Bad("min_severity", "%v", err)
		}
	}
	if f.Site, err = q.One("site"); err != nil {
		return f, err
	}
	if f.USUBJID, err = q.One("subject"); err != nil {
		return f, err
	}
	for _, d := range []struct {
		name string
		to   *string
	}{{"from", &f.From}, {"to", &f.To}} {
		v, err := q.One(d.name)
		if err != nil {
			return f, err
		}
		if *d.to, err = parseDay(d.name, v); err != nil {
			return f, err
		}
	}
	if f.From != "" && f.To != "" && f.From > f.To {
		return f, query.Bad("from", "%s is after to (%s)", f.From, f.To)
	}
	// A caller limited to some sites sees only those: asking for another
	// site's signals finds none, as if it had none.
	f.Sites = scope.Sites(r, f.Study)
	return f, nil
}

// listParams reads a listing's filters, sort, paging and format.
func listParams(r *http.Request) (f signals.Filter, asCSV bool, err error) {
	q := query.Of(r)
	if f, err = signalFilter(r, q); err != nil {
		return f, false, err
	}
	v, err := q.One("sort")
	if err != nil {
		return f, false, err
	}
	if f.Sort, err = signals.ParseSort(v); err != nil {
		return f, false, query.Bad("sort", "%v", err)
	}
	format, err := q.One("format")
	if err != nil {
		return f, false, err
	}
	switch format {
	case "", "json":
	case "csv":
		asCSV = true
	default:
		return f, false, query.Bad("format", "want json or csv, got %q", format)
	}
	f.Limit = defaultPageSize
	if v, err = q.One("limit"); err != nil {
		return f, false, err
	}
	if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return f, false, query.Bad("limit", "want a whole number from 1 to %d, got %q", MaxPageSize, v)
		}
		if asCSV {
			return f, false, query.Bad("limit", "an export (format=csv) has every signal the filters select")
		}
		f.Limit = n
	}
	if v, err = q.One("page_token"); err != nil {
		return f, false, err
	}
	if v != "" {
		if asCSV {
			return f, false, query.Bad("page_token", "an export (format=csv) has every signal the filters select")
		}
		if f.After, err = signals.ParseCursor(v, f.Sort); err != nil {
			return f, false, query.Bad("page_token", "%v (a token is the next_page_token of the same listing, same sort)", err)
		}
	}
	if err := q.Unknown(filterParams + ", sort, limit, page_token, format"); err != nil {
		return f, false, err
	}
	return f, asCSV, nil
}

// queryError answers a bad query with 400, anything else as the store's
// failure.
func (a *API) queryError(w http.ResponseWriter, r *http.Request, err error) {
	query.Fail(w, r, a.log, "signals of study "+r.PathValue("study"), err)
}

func (a *API) listSignals(w http.ResponseWriter, r *http.Request) {
	f, asCSV, err := listParams(r)
	if err != nil {
		a.queryError(w, r, err)
		return
	}
	if asCSV {
		a.exportSignals(w, r, f)
		return
	}
	sigs, next, err := a.signals.Signals(r.Context(), f)
	if err != nil {
		a.queryError(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, wire.SignalList{Signals: SignalsJSON(sigs), NextPageToken: next.Token()})
}

// signalSummary counts the signals the filters select by rule, severity
// and status, and by site with by=site (one query for every site).
func (a *API) signalSummary(w http.ResponseWriter, r *http.Request) {
	q := query.Of(r)
	f, err := signalFilter(r, q)
	var by string
	if err == nil {
		by, err = q.One("by")
	}
	if err == nil && by != "" && by != "site" {
		err = query.Bad("by", "want site, or nothing, got %q", by)
	}
	if err == nil {
		err = q.Unknown(filterParams + ", by")
	}
	if err != nil {
		a.queryError(w, r, err)
		return
	}
	summary := a.signals.Summary
	if by == "site" {
		summary = a.signals.SummaryBySite
	}
	counts, err := summary(r.Context(), f)
	if err != nil {
		a.queryError(w, r, err)
		return
	}
	out := wire.SignalSummary{Study: f.Study, Counts: make([]wire.SignalCount, len(counts))}
	for i, c := range counts {
		out.Counts[i] = wire.SignalCount(c)
		out.Total += c.N
	}
	jsonhttp.Write(w, http.StatusOK, out)
}

// csvColumns heads a signal export.
var csvColumns = []string{"id", "study", "site", "subject", "rule", "severity", "status", "first_date", "last_date",
	"key", "message", "created", "updated", "reason", "evidence"}

// exportFlushRows is how many rows an export writes between flushes.
const exportFlushRows = 500

// exportSignals streams every signal f selects as CSV, a page of the
// store at a time.
func (a *API) exportSignals(w http.ResponseWriter, r *http.Request, f signals.Filter) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "signals-" + f.Study + ".csv"}))
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(csvColumns)
	// The header goes out at once and the rows every so often, so that
	// a client sees the export start and progress.
	rows := 0
	flush := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if err := http.NewResponseController(w).Flush(); !errors.Is(err, http.ErrNotSupported) {
			return err // nil, or the client is gone
		}
		return nil // a writer that cannot flush sends when its buffer fills
	}
	err := flush()
	if err == nil {
		err = a.signals.Each(r.Context(), f, func(sg clinical.Signal) error {
			ev, err := json.Marshal(sg.Evidence)
			if err != nil {
				return err
			}
			updated := ""
			if !sg.Updated.IsZero() {
				updated = sg.Updated.Format(time.RFC3339Nano)
			}
			row := []string{strconv.FormatInt(sg.ID, 10), sg.Study, sg.Site, sg.USUBJID, string(sg.Rule), sg.Severity.String(),
				string(sg.Status), string(sg.First), string(sg.Last), sg.Key, sg.Message, sg.Created.Format(time.RFC3339Nano),
				updated, sg.Reason, string(ev)}
			for i := range row {
				row[i] = audit.CSVCell(row[i])
			}
			cw.Write(row)
			if rows++; rows%exportFlushRows == 0 {
				return flush()
			}
			return cw.Error()
		})
	}
	if err == nil {
		err = flush()
	}
	if err != nil {
		// The 200 and the first rows are gone: cutting the connection is
		// the only way to tell the client its file is not whole.
		if r.Context().Err() != nil {
			panic(http.ErrAbortHandler) // the client left: nothing to report
		}
		a.log.LogAttrs(r.Context(), slog.LevelError, "signal export failed part way",
			slog.String("request_id", jsonhttp.RequestID(r.Context())), slog.String("study", f.Study), slog.String("error", err.Error()))
		panic(http.ErrAbortHandler)
	}
}
