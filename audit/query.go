package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits on how many records one query returns.
const (
	DefaultLimit = 1000
	MaxLimit     = 10000
)

// maxFilterLen bounds a string filter: no real actor, entity or id is
// longer, and a huge value would only cost the database work.
const maxFilterLen = 1024

// Filter selects audit records. String fields match exactly; "" matches
// any value.
type Filter struct {
	Study      string // required unless AllStudies
	AllStudies bool
	Actor      string
	Entity     string
	EntityID   string
	Action     string
	From, To   time.Time // inclusive From, exclusive To; zero = open
	AfterSeq   int64     // paging: records with Seq > AfterSeq
	Limit      int       // default DefaultLimit, at most MaxLimit
}

// ParseFilter reads a filter from query parameters: actor, entity,
// entity_id, action, from and to (RFC 3339, or YYYY-MM-DD for midnight UTC
// of that day; to is exclusive, so to=2026-02-01 ends with January), after
// (a Seq) and limit. format is allowed and left to the caller. An unknown
// parameter or a bad value is an error naming both. Study is not a
// parameter: the caller sets Study or AllStudies.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{Limit: DefaultLimit}
	strs := map[string]*string{"actor": &f.Actor, "entity": &f.Entity, "entity_id": &f.EntityID, "action": &f.Action}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if len(vs) != 1 {
			return Filter{}, fmt.Errorf("query parameter %s: given %d times, want once", name, len(vs))
		}
		v := vs[0]
		bad := func(want string) error {
			return fmt.Errorf("query parameter %s: want %s, got %s", name, want, quote(v))
		}
		if p, ok := strs[name]; ok {
			if err := checkText(v); err != nil {
				return Filter{}, fmt.Errorf("query parameter %s: %v: %s", name, err, quote(v))
			}
			if len(v) > maxFilterLen {
				return Filter{}, fmt.Errorf("query parameter %s: longer than %d bytes: %s", name, maxFilterLen, quote(v))
			}
			*p = v
			continue
		}
		var err error
		switch name {
		case "from", "to":
			var t time.Time
			if v != "" {
				if t, err = parseTime(v); err != nil {
					return Filter{}, bad("an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02)")
				}
			}
			if name == "from" {
				f.From = t
			} else {
				f.To = t
			}
		case "after":
			if v != "" {
				if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 0 {
					return Filter{}, bad("a record's seq, a whole number ≥ 0")
				}
			}
		case "limit":
			if v != "" {
				if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > MaxLimit {
					return Filter{}, bad(fmt.Sprintf("a whole number from 1 to %d", MaxLimit))
				}
			}
		case "format":
		default:
			return Filter{}, fmt.Errorf("unknown query parameter %s (want actor, entity, entity_id, action, from, to, after, limit or format)", quote(name))
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return Filter{}, fmt.Errorf("query parameters from and to: from (%s) must be before to (%s)",
			f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano))
	}
	return f, nil
}

func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t.UTC(), err
}

// quote quotes a value for an error message, shortened so a huge value
// does not make a huge answer.
func quote(v string) string {
	const max = 100
	if len(v) > max {
		return strconv.Quote(strings.ToValidUTF8(v[:max], "")) + fmt.Sprintf("… (%d bytes)", len(v))
	}
	return strconv.Quote(v)
}

// Query returns the records f selects, ordered by Seq.
func (l *Log) Query(ctx context.Context, f Filter) ([]Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	return l.query(ctx, f, min(limit, MaxLimit))
}

// query is Query with the limit as given, so the API can ask for one more
// record than it answers to learn whether more follow.
func (l *Log) query(ctx context.Context, f Filter, limit int) ([]Record, error) {
	if f.Study == "" && !f.AllStudies {
		return nil, errors.New("audit: query: no study given (set Study or AllStudies)")
	}
	if f.Study != "" && f.AllStudies {
		return nil, errors.New("audit: query: both Study and AllStudies given")
	}
	var where []string
	var args []any
	cond := func(expr string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(expr, len(args)))
	}
	for _, c := range []struct{ col, v string }{
		{"study", f.Study}, {"actor", f.Actor}, {"entity", f.Entity}, {"entity_id", f.EntityID}, {"action", f.Action},
	} {
		if c.v != "" {
			cond(c.col+" = $%d", c.v)
		}
	}
	if !f.From.IsZero() {
		cond("at_ms >= $%d", ceilMilli(f.From))
	}
	if !f.To.IsZero() {
		cond("at_ms < $%d", ceilMilli(f.To))
	}
	cond("seq > $%d", f.AfterSeq)
	args = append(args, limit)
	sql := fmt.Sprintf(`SELECT %s FROM audit_log WHERE %s ORDER BY seq LIMIT $%d`, columns, strings.Join(where, " AND "), len(args))
	rows, err := l.db.QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: query: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	return out, nil
}

// ceilMilli is t in Unix ms, rounded up: records are stored to the
// millisecond, and one at 12:00:00.000 is before a bound of 12:00:00.0005.
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}
