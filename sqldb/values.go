package sqldb

import (
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Scanning a column into an *any is database/sql's cheapest path: no
// reflection, no conversion. String, Int and Float then read the value as
// either driver returns it (SQLite gives booleans as integers, PostgreSQL
// as bools).

// String reads a text column scanned into an any; NULL reads as "".
func String(v any) string { return normalize(v) }

// Int reads an integer or boolean column scanned into an any; NULL reads
// as 0.
func Int(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case bool:
		if v {
			return 1
		}
		return 0
	case float64:
		return int64(v)
	}
	n, _ := strconv.ParseInt(normalize(v), 10, 64)
	return n
}

// Float reads a nullable number column scanned into an any; ok is false
// for NULL.
func Float(v any) (f float64, ok bool) {
	switch v := v.(type) {
	case nil:
		return 0, false
	case float64:
		return v, true
	case int64:
		return float64(v), true
	}
	f, err := strconv.ParseFloat(normalize(v), 64)
	return f, err == nil
}

// Placeholders is "$first,$first+1,…", n parameters for an IN list.
func Placeholders(first, n int) string {
	var b strings.Builder
	b.Grow(n * 5)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

// normalize gives a stored or incoming value one text form, whatever the
// driver returned: SQLite gives booleans as integers, PostgreSQL as bools.
func normalize(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	}
	return string(AppendString(nil, v))
}

// AppendString appends String(v) to b: a value's text form without a
// string allocated for it, to build keys from.
func AppendString(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return b
	case string:
		return append(b, v...)
	case []byte:
		return append(b, v...)
	case bool:
		if v {
			return append(b, '1')
		}
		return append(b, '0')
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int32:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case sql.NullFloat64:
		if !v.Valid {
			return b
		}
		return strconv.AppendFloat(b, v.Float64, 'g', -1, 64)
	case time.Time:
		return v.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	j, _ := json.Marshal(v)
	return append(b, j...)
}
