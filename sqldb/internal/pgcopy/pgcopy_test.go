package pgcopy

import (
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The values trialwatch stores go through Binary's own encoding, and
// come back as given; others (a time, an int into a text column) and
// values out of a column's range go through pgx's CopyFrom, which stores
// them or says what is wrong, as before.
func TestCopyBinary(t *testing.T) {
	dsn := os.Getenv("TRIALWATCH_TEST_PG")
	if dsn == "" {
		t.Skip("TRIALWATCH_TEST_PG is not set: skipping the PostgreSQL COPY test (set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	// A temporary table: the connection's own, gone with it.
	if _, err := c.Exec(ctx, `CREATE TEMP TABLE typed (i4 INTEGER, i8 BIGINT, f DOUBLE PRECISION, b BOOLEAN, t TEXT, at TIMESTAMPTZ)`); err != nil {
		t.Fatal(err)
	}
	cols := []string{"i4", "i8", "f", "b", "t"}
	own := [][]any{
		{int64(-7), int64(1) << 40, 1.5, true, "ünïcode"},
		{int32(math.MaxInt32), -3, math.Inf(-1), false, []byte("bytes")},
		{nil, nil, nil, nil, nil},
		{int64(math.MinInt32), int64(0), math.Copysign(0, -1), true, ""},
	}
	// copyRows copies as sqldb does: through Binary, else pgx's CopyFrom.
	copyRows := func(cols []string, rows [][]any) (handled bool, err error) {
		if handled, err = Binary(ctx, c, "typed", cols, rows); handled || err != nil {
			return handled, err
		}
		_, err = c.CopyFrom(ctx, pgx.Identifier{"typed"}, cols, pgx.CopyFromRows(rows))
		return false, err
	}
	if handled, err := copyRows(cols, own); !handled || err != nil {
		t.Fatalf("Binary of trialwatch's own types: handled %v, %v", handled, err)
	}
	var got []string
	rs, err := c.Query(ctx, `SELECT concat_ws('|', i4, i8, f, b, t) FROM typed ORDER BY i8 NULLS FIRST, i4`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"", "2147483647|-3|-Infinity|f|bytes", "-2147483648|0|-0|t|", "-7|1099511627776|1.5|t|ünïcode"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows copied:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct {
		name    string
		cols    []string
		row     []any
		wantErr bool
	}{
		{"a time", []string{"i4", "at"}, []any{int64(1), time.Now()}, false},
		{"an integer into text", []string{"t"}, []any{int64(5)}, true},
		{"an integer past INTEGER's range", []string{"i4"}, []any{int64(math.MaxInt32) + 1}, true},
	} {
		handled, err := copyRows(c.cols, [][]any{c.row})
		if handled || (err != nil) != c.wantErr {
			t.Errorf("%s: handled %v, %v; want it left to pgx's CopyFrom, failing: %v", c.name, handled, err, c.wantErr)
		}
	}
}
