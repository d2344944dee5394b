package audit

import (
	"encoding/csv"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// API serves the audit trail over HTTP. Which roles may read it is decided
// by the router it is registered on; the API itself serves only a caller
// with an identity (401 without), and only the studies it may see.
type API struct {
	log    *Log
	logger *slog.Logger
}

// NewAPI returns the audit trail's HTTP API. logger (nil: none) gets the
// detail of failures the client sees only as "internal error".
func NewAPI(l *Log, logger *slog.Logger) *API { return &API{log: l, logger: logger} }

// Register mounts the API's routes on mux.
func (a *API) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("GET /api/v1/studies/{study}/audit", a.studyRecords)
	mux.HandleFunc("GET /api/v1/audit", a.allRecords)
}

// NextAfterHeader carries next_after on a CSV answer, which has no other
// place for it.
const NextAfterHeader = "Audit-Next-After"

// csvColumns heads a CSV answer, one column per Record field.
var csvColumns = []string{"seq", "at", "actor", "role", "study", "entity", "entity_id", "action", "old", "new", "source", "prev_hash", "hash"}

// csvTime writes At with its milliseconds always present, so every row of
// an export reads the same way.
const csvTime = "2006-01-02T15:04:05.000Z07:00"

func (a *API) studyRecords(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	study := r.PathValue("study")
	if err := checkText(study); err != nil || len(study) > maxFilterLen {
		jsonhttp.Error(w, http.StatusBadRequest, "study in the path: not a study name: "+quote(study))
		return
	}
	// As the router does: a study the caller has no grant for does not
	// exist for it.
	if !id.HasStudy(study) {
		jsonhttp.NotFound(w)
		return
	}
	a.serve(w, r, Filter{Study: study}, "audit-"+study+".csv")
}

func (a *API) allRecords(w http.ResponseWriter, r *http.Request) {
	id, ok := auth.Caller(w, r)
	if !ok {
		return
	}
	// The whole trail spans every study: only a caller who may see every
	// study reads it (an admin without grants).
	if !id.AllStudies() {
		jsonhttp.Error(w, http.StatusForbidden, "the whole audit trail is for admins of every study: read /api/v1/studies/{study}/audit")
		return
	}
	a.serve(w, r, Filter{AllStudies: true}, "audit.csv")
}

// serve answers the records that scope and the query select: JSON, or CSV
// when ?format=csv or the Accept header prefers text/csv.
func (a *API) serve(w http.ResponseWriter, r *http.Request, scope Filter, filename string) {
	q := r.URL.Query()
	f, err := ParseFilter(q)
	if err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Study, f.AllStudies = scope.Study, scope.AllStudies
	asCSV := prefersCSV(r.Header.Get("Accept"))
	switch format := q.Get("format"); format {
	case "":
	case "csv", "json":
		asCSV = format == "csv"
	default:
		jsonhttp.Error(w, http.StatusBadRequest, "query parameter format: want csv or json, got "+quote(format))
		return
	}
	// One record more than asked for tells whether more follow.
	recs, err := a.log.query(r.Context(), f, f.Limit+1)
	if err != nil {
		jsonhttp.ServerError(w, r, a.logger, http.StatusInternalServerError, fmt.Errorf("reading the audit trail: %w", err))
		return
	}
	var next int64
	if len(recs) > f.Limit {
		recs = recs[:f.Limit]
		next = recs[len(recs)-1].Seq
	}
	w.Header().Set("Cache-Control", "no-store")
	if !asCSV {
		body := struct {
			Records   []Record `json:"records"`
			NextAfter int64    `json:"next_after,omitempty"`
		}{recs, next}
		jsonhttp.Write(w, http.StatusOK, body)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	if next != 0 {
		w.Header().Set(NextAfterHeader, strconv.FormatInt(next, 10))
	}
	cw := csv.NewWriter(w)
	cw.Write(csvColumns)
	for _, rec := range recs {
		row := []string{strconv.FormatInt(rec.Seq, 10), rec.At.Format(csvTime), rec.Actor, rec.Role, rec.Study,
			rec.Entity, rec.EntityID, rec.Action, rec.Old, rec.New, rec.Source, rec.PrevHash, rec.Hash}
		for i := range row {
			row[i] = CSVCell(row[i])
		}
		cw.Write(row)
	}
	cw.Flush()
}

// CSVCell neutralises a cell a spreadsheet would take for a formula:
// one that begins with =, +, -, @, a tab or a carriage return gets a
// leading ' (OWASP's advice), so that a user name such as
// "=HYPERLINK(...)" or a value a client sent is shown, never run. The
// record's hash is over the value without the ': strip it to verify.
func CSVCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// prefersCSV reports whether an Accept header ranks text/csv above
// application/json.
func prefersCSV(accept string) bool {
	return accept != "" && acceptQ(accept, "text/csv") > acceptQ(accept, "application/json")
}

// acceptQ is the quality an Accept header gives a media type: that of the
// most specific range matching it, 0 if none does.
func acceptQ(accept, typ string) float64 {
	best, q := -1, 0.0
	major, _, _ := strings.Cut(typ, "/")
	for part := range strings.SplitSeq(accept, ",") {
		rng, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		spec := -1
		switch rng {
		case typ:
			spec = 2
		case major + "/*":
			spec = 1
		case "*/*":
			spec = 0
		}
		if spec <= best {
			continue
		}
		best, q = spec, 1
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				q = 0
			}
		}
	}
	return q
}
