package sdtm

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/sdtm/internal/xptfile"
)

const pilot = "CDISCPILOT01"

// pilotPath is where a test finds a pilot domain: the CSVs the demo embeds
// are shared with pilotdata rather than copied.
func pilotPath(domain string, f Format) string {
	if f == CSV && domain != "cm" && domain != "ds" {
		return "../pilotdata/cdiscpilot01/" + domain + ".csv.gz"
	}
	return "testdata/" + domain + "." + string(f) + ".gz"
}

func readPilot(t testing.TB, domain string, f Format) *Batch {
	t.Helper()
	var b Batch
	if err := ReadFile(pilotPath(domain, f), pilot, &b); err != nil {
		t.Fatalf("%s %s: %v", domain, f, err)
	}
	return &b
}

// unzip returns a pilot file's content, for tests that take it apart.
func unzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantErrors checks err holds exactly the problems want, as printed.
func wantErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	var got []string
	var errs Errors
	var one *Error
	switch {
	case errors.As(err, &errs):
		for _, e := range errs {
			got = append(got, e.Error())
		}
	case errors.As(err, &one):
		got = []string{one.Error()}
	case err != nil:
		t.Fatalf("err = %#v, want sdtm errors", err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// sasMissing is one of SAS's special missing values (.A to .Z, ._) in a
// table cell.
type sasMissing byte

// table is one domain's content as a test writes it in every format. A
// cell is a string, a float64, nil for missing or, in XPT only, a
// sasMissing.
type table struct {
	name   string // of the member, for XPT
	header []string
	rows   [][]any
}

func (tb table) csv() []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(tb.header)
	for _, r := range tb.rows {
		rec := make([]string, len(r))
		for i, v := range r {
			switch v := v.(type) {
			case nil:
				rec[i] = "NA"
			case float64:
				rec[i] = fmt.Sprint(v)
			default:
				rec[i] = v.(string)
			}
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

func (tb table) json() []byte {
	cols := make([]map[string]string, len(tb.header))
	for i, h := range tb.header {
		cols[i] = map[string]string{"itemOID": "IT." + h, "name": h, "label": h, "dataType": "string"}
		if tb.numeric(i) {
			cols[i]["dataType"] = "decimal"
		}
	}
	meta, err := json.Marshal(cols)
	if err != nil {
		panic(err)
	}
	// The rows by hand, as json.Marshal would turn bytes that are not
	// UTF-8 into U+FFFD, and a file may hold them.
	var rows bytes.Buffer
	rows.WriteByte('[')
	for i, r := range tb.rows {
		if i > 0 {
			rows.WriteByte(',')
		}
		rows.WriteByte('[')
		for j, v := range r {
			if j > 0 {
				rows.WriteByte(',')
			}
			if s, ok := v.(string); ok {
				rows.WriteString(jsonString(s))
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				panic(err)
			}
			rows.Write(b)
		}
		rows.WriteByte(']')
	}
	rows.WriteByte(']')
	// Written by hand because v1.1 wants the columns before the rows.
	return fmt.Appendf(nil, `{"datasetJSONVersion":"1.1.0","name":%q,"records":%d,"columns":%s,"rows":%s}`, tb.name, len(tb.rows), meta, rows.Bytes())
}

// jsonString quotes s as a JSON writer would, but keeps bytes that are
// not UTF-8 as they are, and writes the three bytes UTF-8 gives a UTF-16
// surrogate as the escape of an unpaired one (\ud800).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case size == 1 && r == utf8.RuneError:
			if sur, ok := surrogate(s[i:]); ok {
				fmt.Fprintf(&b, `\u%04x`, sur)
				i += 3
				continue
			}
			b.WriteByte(s[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// numeric reports whether a column holds only numbers, and so is numeric
// in XPT.
func (tb table) numeric(col int) bool {
	some := false
	for _, r := range tb.rows {
		switch r[col].(type) {
		case float64:
			some = true
		case nil, sasMissing:
		default:
			return false
		}
	}
	return some
}

// xpt writes tables as the members of a SAS XPORT v5 file with namestr
// records of size bytes (140, or 136 as VAX/VMS wrote them).
func xpt(size int, members ...table) []byte {
	var buf bytes.Buffer
	rec := func(s string) { buf.WriteString(fmt.Sprintf("%-80s", s)) }
	pad := func() {
		for buf.Len()%80 != 0 {
			buf.WriteByte(' ')
		}
	}
	rec(xptfile.LibraryHeader + "000000000000000000000000000000")
	rec("SAS     SAS     SASLIB  9.3     X64_7HOM")
	rec("04APR12:22:16:21")
	for _, m := range members {
		rec(fmt.Sprintf("%s000000000000000001600000000%03d", xptfile.MemberHeader, size))
		rec(xptfile.DescriptorHeader + "000000000000000000000000000000")
		rec(fmt.Sprintf("SAS     %-8sSASDATA 9.3     X64_7HOM", m.name))
		rec("04APR12:22:16:21")
		rec(fmt.Sprintf("%s000000%04d00000000000000000000", xptfile.NamestrHeader, len(m.header)))
		lens := make([]int, len(m.header))
		pos := 0
		for i, h := range m.header {
			ns := make([]byte, size)
			typ, n := 2, 1
			if m.numeric(i) {
				typ, n = 1, 8
			} else {
				for _, r := range m.rows {
					if s, ok := r[i].(string); ok {
						n = max(n, len(s))
					}
				}
			}
			lens[i] = n
			binary.BigEndian.PutUint16(ns[0:], uint16(typ))
			binary.BigEndian.PutUint16(ns[4:], uint16(n))
			binary.BigEndian.PutUint16(ns[6:], uint16(i+1))
			copy(ns[8:16], fmt.Sprintf("%-8s", h))
			copy(ns[16:56], fmt.Sprintf("%-40s", h))
			binary.BigEndian.PutUint32(ns[84:], uint32(pos))
			buf.Write(ns)
			pos += n
		}
		pad()
		rec(xptfile.ObsHeader + "000000000000000000000000000000")
		for _, r := range m.rows {
			for i, v := range r {
				switch v := v.(type) {
				case nil:
					if m.numeric(i) {
						buf.Write([]byte{'.', 0, 0, 0, 0, 0, 0, 0})
					} else {
						buf.WriteString(strings.Repeat(" ", lens[i]))
					}
				case sasMissing:
					buf.Write([]byte{byte(v), 0, 0, 0, 0, 0, 0, 0})
				case float64:
					var b [8]byte
					binary.BigEndian.PutUint64(b[:], xptfile.ToIBM(v))
					buf.Write(b[:])
				case string:
					buf.WriteString(fmt.Sprintf("%-*s", lens[i], v))
				}
			}
		}
		pad()
	}
	return buf.Bytes()
}
