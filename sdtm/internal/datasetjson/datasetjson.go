// Package datasetjson decodes CDISC Dataset-JSON v1.1 files for package
// sdtm, one row at a time: the metadata (columns first), then the rows,
// streamed so the file may be larger than memory. A guard in front of
// encoding/json bounds values, rows and nesting as the bytes arrive.
package datasetjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// New reads the Dataset-JSON file r, which errors call file, within the bounds l.
func New(file string, r io.Reader, l source.Bounds) *Records {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
	}
	dec := json.NewDecoder(&jsonGuard{r: br, limits: l})
	dec.UseNumber()
	return &Records{file: file, dec: dec, records: -1}
}

// Records is a Dataset-JSON file's rows (source.Records).
type Records struct {
	file    string
	dec     *json.Decoder
	names   []string
	records int // the file's own count of its rows, or -1
	rows    int
	done    bool
	cells   []source.Cell
	raw     json.RawMessage
}

type jsonColumn struct {
	Name     string `json:"name"`
	DataType string `json:"dataType"`
}

func (j *Records) fail(row int, format string, args ...any) *source.Error {
	return &source.Error{File: j.file, Row: row, Msg: fmt.Sprintf(format, args...)}
}

// syntax describes a decoding error, whose offset is all a reader of a
// minified file can go by. A limit's error is the row's (a
// *TooLargeError the file's).
func (j *Records) syntax(row int, err error) error {
	var tooLarge *source.TooLargeError
	var limit *limitError
	switch {
	case errors.As(err, &tooLarge):
		return tooLarge
	case errors.As(err, &limit):
		return j.fail(row, "%s", limit.msg)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return j.fail(row, "unexpected end of file: the JSON is cut short")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return j.fail(row, "invalid JSON at byte %d: %v", se.Offset, se)
	}
	return j.fail(row, "invalid Dataset-JSON at byte %d: %v", j.dec.InputOffset(), err)
}

func (j *Records) expect(row int, want json.Delim, what string) error {
	t, err := j.dec.Token()
	if err != nil {
		return j.syntax(row, err)
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return j.fail(row, "want %s at byte %d, found %v", what, j.dec.InputOffset(), t)
	}
	return nil
}

func (j *Records) Columns() ([]string, error) {
	if err := j.expect(0, '{', "a Dataset-JSON object"); err != nil {
		return nil, err
	}
	var names []string
	for j.dec.More() {
		k, err := j.key()
		if err != nil {
			return nil, err
		}
		switch k {
		case "columns":
			if names != nil {
				return nil, j.fail(0, "has columns twice")
			}
			var err error
			if names, err = j.readColumns(); err != nil {
				return nil, err
			}
		case "rows":
			if names == nil {
				return nil, j.fail(0, "rows come before columns: Dataset-JSON v1.1 puts the columns first so that rows can be streamed")
			}
			if err := j.expect(0, '[', "the rows array"); err != nil {
				return nil, err
			}
			j.names = names
			return names, nil
		case "records":
			if err := j.readRecords(); err != nil {
				return nil, err
			}
		case "clinicalData", "referenceData":
			return nil, j.fail(0, "is Dataset-JSON v1.0; trialwatch reads v1.1 (columns and rows at the top level)")
		default:
			if err := j.skip(); err != nil {
				return nil, err
			}
		}
	}
	if names == nil {
		return nil, j.fail(0, "has no columns: not Dataset-JSON v1.1")
	}
	j.names, j.done = names, true
	return names, j.end()
}

// readColumns reads the columns array one column at a time, so that its
// size is bounded by the count of columns rather than the file's.
func (j *Records) readColumns() ([]string, error) {
	if err := j.expect(0, '[', "the columns array"); err != nil {
		return nil, err
	}
	names := []string{}
	for j.dec.More() {
		if len(names) == source.MaxColumns {
			return nil, j.fail(0, "has more than %d columns, more than any SDTM file", source.MaxColumns)
		}
		var c jsonColumn
		if err := j.dec.Decode(&c); err != nil {
			return nil, j.syntax(0, err)
		}
		if c.Name == "" {
			return nil, j.fail(0, "column %d has no name", len(names)+1)
		}
		names = append(names, c.Name)
	}
	if err := j.expect(0, ']', "the end of the columns array"); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, j.fail(0, "has no columns: want at least one")
	}
	return names, nil
}

func (j *Records) key() (string, error) {
	t, err := j.dec.Token()
	if err != nil {
		return "", j.syntax(0, err)
	}
	k, _ := t.(string)
	return k, nil
}

func (j *Records) readRecords() error {
	var n json.Number
	if err := j.dec.Decode(&n); err != nil {
		return j.syntax(0, err)
	}
	v, err := strconv.Atoi(string(n))
	if err != nil || v < 0 {
		return j.fail(0, "records is %q, want a count of rows", n)
	}
	j.records = v
	return nil
}

// skip reads past one value without keeping it.
func (j *Records) skip() error {
	depth := 0
	for {
		t, err := j.dec.Token()
		if err != nil {
			return j.syntax(0, err)
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// end reads the attributes after the rows and checks nothing follows the
// object, so that a file cut short is not taken for a complete one.
func (j *Records) end() error {
	for j.dec.More() {
		k, err := j.key()
		if err != nil {
			return err
		}
		if k == "records" {
			err = j.readRecords()
		} else {
			err = j.skip()
		}
		if err != nil {
			return err
		}
	}
	if err := j.expect(0, '}', "the end of the Dataset-JSON object"); err != nil {
		return err
	}
	if _, err := j.dec.Token(); !errors.Is(err, io.EOF) {
		return j.fail(0, "data after the end of the Dataset-JSON object at byte %d", j.dec.InputOffset())
	}
	if j.records >= 0 && j.records != j.rows {
		return j.fail(0, "records says %d rows, but rows holds %d", j.records, j.rows)
	}
	return nil
}

func (j *Records) Next() ([]source.Cell, source.Position, error) {
	if j.done {
		return nil, source.Position{}, io.EOF
	}
	n := j.rows + 1
	pos := source.Position{Row: n}
	t, err := j.dec.Token()
	if err != nil {
		return nil, pos, j.syntax(n, err)
	}
	switch t {
	case json.Delim(']'):
		j.done = true
		if err := j.end(); err != nil {
			return nil, source.Position{}, err
		}
		return nil, source.Position{}, io.EOF
	case json.Delim('['):
	default:
		return nil, pos, j.fail(n, "is %v, want an array of values", t)
	}
	j.rows = n
	j.cells = j.cells[:0]
	count := 0
	for j.dec.More() {
		// Raw, so that a string is read as it is (see jsonCell).
		if err := j.dec.Decode(&j.raw); err != nil {
			var limit *limitError
			if errors.As(err, &limit) && limit.value && count < len(j.names) {
				e := j.fail(n, "%s", limit.msg)
				e.Column = source.ColumnName(j.names[count])
				return nil, pos, e
			}
			return nil, pos, j.syntax(n, err)
		}
		count++
		c, ok := jsonCell(j.raw)
		if !ok {
			return nil, pos, j.fail(n, "value %d is an array or object, want a string, number or null", count)
		}
		// Cells beyond the columns are counted, not kept.
		if count <= len(j.names) {
			j.cells = append(j.cells, c)
		}
	}
	if err := j.expect(n, ']', "the end of the row"); err != nil {
		return nil, pos, err
	}
	if count != len(j.names) {
		return nil, pos, source.BadRow{Err: j.fail(n, "has %d values, want %d (one per column)", count, len(j.names))}
	}
	return j.cells, pos, nil
}

// jsonCell is one JSON value of a row, which the decoder has checked is
// valid JSON. A string is read as it is: encoding/json would turn invalid
// UTF-8 and unpaired surrogates into U+FFFD, and so store what the file
// does not say, where a CSV file's bytes are refused; here they reach the
// conversion, which refuses them the same way.
func jsonCell(raw []byte) (source.Cell, bool) {
	switch raw[0] {
	case '"':
		return source.Cell{Kind: source.Text, Text: unquoteJSON(raw)}, true
	case 'n':
		return source.Cell{}, true
	case '[', '{':
		return source.Cell{}, false
	}
	return source.Cell{Kind: source.Text, Text: string(raw)}, true // a number, true or false
}

// unquoteJSON decodes a valid JSON string literal, keeping bytes that are
// not UTF-8 as they are and writing an unpaired surrogate as the three
// bytes UTF-8 would give it, which are not UTF-8 either.
func unquoteJSON(q []byte) string {
	s := q[1 : len(q)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		esc := s[i+1]
		i += 2
		switch esc {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(s[i : i+4])
			i += 4
			if utf16.IsSurrogate(r) && r < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if low := hex4(s[i+2 : i+6]); low >= 0xdc00 && low < 0xe000 {
					out = utf8.AppendRune(out, utf16.DecodeRune(r, low))
					i += 6
					continue
				}
			}
			if utf16.IsSurrogate(r) {
				out = append(out, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
				continue
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, esc)
		}
	}
	return string(out)
}

func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// jsonGuard stands between a Dataset-JSON file and encoding/json, which
// holds a whole value in memory to decode it and keeps a stack entry per
// open array or object: it follows the JSON's strings and nesting, and
// fails the read as soon as a string or number is longer than
// Limits.Value, a row (or any other value nested as deep) is longer than
// Limits.Record, or arrays and objects nest deeper than Limits.Depth,
// before the decoder has buffered more than that.
type jsonGuard struct {
	r      io.Reader
	limits source.Bounds

	off      int64 // bytes read
	depth    int   // of open arrays and objects
	recStart int64 // where the current value at rowDepth started
	inString bool
	escape   bool // after a backslash in a string
	valLen   int  // bytes of the current string or other scalar
	err      error
}

// rowDepth is how deep a row is: in the rows array, in the file's object.
const rowDepth = 3

// limitError is a limit a Dataset-JSON file passed, for the row to report.
type limitError struct {
	msg   string
	value bool // Limits.Value, which a value of a row passed
}

func (e *limitError) Error() string { return e.msg }

func (g *jsonGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; {
		if g.inString && !g.escape {
			// Most bytes are a string's own: they are taken a run at a
			// time, as far as the limits let them.
			j := i
			for j < n && p[j] != '"' && p[j] != '\\' {
				j++
			}
			fits := g.limits.Value - g.valLen
			if g.depth >= rowDepth {
				fits = min(fits, g.limits.Record-int(g.off-g.recStart))
			}
			run := min(j-i, fits)
			g.valLen += run
			g.off += int64(run)
			i += run
			if i == n {
				break
			}
		}
		if g.err = g.scan(p[i]); g.err != nil {
			return i, g.err
		}
		i++
	}
	return n, err
}

func (g *jsonGuard) scan(c byte) error {
	g.off++
	if g.inString {
		switch {
		case g.escape:
			g.escape = false
		case c == '\\':
			g.escape = true
		case c == '"':
			g.inString = false
			return g.checkRecord()
		}
		return g.checkValue()
	}
	switch c {
	case '"':
		g.inString, g.valLen = true, 0
	case '[', '{':
		g.depth++
		if g.depth > g.limits.Depth {
			return &limitError{msg: fmt.Sprintf("arrays and objects nested more than %d deep, the most a file may nest (at byte %d)", g.limits.Depth, g.off)}
		}
		if g.depth == rowDepth {
			g.recStart = g.off - 1
		}
	case ']', '}':
		g.depth--
	case ' ', '\t', '\n', '\r', ',', ':':
		g.valLen = 0
	default:
		return g.checkValue()
	}
	return g.checkRecord()
}

func (g *jsonGuard) checkValue() error {
	if g.valLen++; g.valLen > g.limits.Value {
		return &limitError{msg: fmt.Sprintf("%s (at byte %d)", source.ValueTooLong(g.limits), g.off), value: true}
	}
	return g.checkRecord()
}

func (g *jsonGuard) checkRecord() error {
	if g.depth >= rowDepth && g.off-g.recStart > int64(g.limits.Record) {
		return &limitError{msg: fmt.Sprintf("row (or other nested value) longer than %s, the most a record may be (at byte %d)", source.SizeText(int64(g.limits.Record)), g.off)}
	}
	return nil
}
