package sdtm

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ReadDatasetJSON reads one SDTM domain in CDISC Dataset-JSON v1.1 into b.
// The rows are streamed: only one row is held at a time, so the file may be
// larger than memory. Metadata must come before the rows, as v1.1 asks
// (columns first). Empty strings, nulls and R's NA are missing values;
// numbers may be JSON numbers or (as decimal columns are) strings, padded
// or not. Otherwise as ReadCSV.
func ReadDatasetJSON(file string, r io.Reader, study string, b *Batch) error {
	return read(file, newJSONRecords(file, r), study, b)
}

func newJSONRecords(file string, r io.Reader) *jsonRecords {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		br.Discard(3)
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	return &jsonRecords{file: file, dec: dec, records: -1}
}

// maxJSONColumns bounds the metadata held for a file; SDTM domains have
// tens of variables.
const maxJSONColumns = 10000

type jsonRecords struct {
	file    string
	dec     *json.Decoder
	ncols   int
	records int // the file's own count of its rows, or -1
	rows    int
	done    bool
	cells   []cell
}

type jsonColumn struct {
	Name     string `json:"name"`
	DataType string `json:"dataType"`
}

func (j *jsonRecords) fail(row int, format string, args ...any) *Error {
	return &Error{File: j.file, Row: row, Msg: fmt.Sprintf(format, args...)}
}

// syntax describes a decoding error, whose offset is all a reader of a
// minified file can go by.
func (j *jsonRecords) syntax(row int, err error) *Error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return j.fail(row, "unexpected end of file: the JSON is cut short")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return j.fail(row, "invalid JSON at byte %d: %v", se.Offset, se)
	}
	return j.fail(row, "invalid Dataset-JSON at byte %d: %v", j.dec.InputOffset(), err)
}

func (j *jsonRecords) expect(row int, want json.Delim, what string) error {
	t, err := j.dec.Token()
	if err != nil {
		return j.syntax(row, err)
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return j.fail(row, "want %s at byte %d, found %v", what, j.dec.InputOffset(), t)
	}
	return nil
}

func (j *jsonRecords) columns() ([]string, error) {
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
			var cols []jsonColumn
			if err := j.dec.Decode(&cols); err != nil {
				return nil, j.syntax(0, err)
			}
			if len(cols) == 0 || len(cols) > maxJSONColumns {
				return nil, j.fail(0, "has %d columns, want 1 to %d", len(cols), maxJSONColumns)
			}
			names = make([]string, len(cols))
			for i, c := range cols {
				if c.Name == "" {
					return nil, j.fail(0, "column %d has no name", i+1)
				}
				names[i] = c.Name
			}
		case "rows":
			if names == nil {
				return nil, j.fail(0, "rows come before columns: Dataset-JSON v1.1 puts the columns first so that rows can be streamed")
			}
			if err := j.expect(0, '[', "the rows array"); err != nil {
				return nil, err
			}
			j.ncols = len(names)
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
	j.ncols, j.done = len(names), true
	return names, j.end()
}

func (j *jsonRecords) key() (string, error) {
	t, err := j.dec.Token()
	if err != nil {
		return "", j.syntax(0, err)
	}
	k, _ := t.(string)
	return k, nil
}

func (j *jsonRecords) readRecords() error {
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
func (j *jsonRecords) skip() error {
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
func (j *jsonRecords) end() error {
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

func (j *jsonRecords) next() ([]cell, position, error) {
	if j.done {
		return nil, position{}, io.EOF
	}
	n := j.rows + 1
	pos := position{row: n}
	t, err := j.dec.Token()
	if err != nil {
		return nil, pos, j.syntax(n, err)
	}
	switch t {
	case json.Delim(']'):
		j.done = true
		if err := j.end(); err != nil {
			return nil, position{}, err
		}
		return nil, position{}, io.EOF
	case json.Delim('['):
	default:
		return nil, pos, j.fail(n, "is %v, want an array of values", t)
	}
	j.rows = n
	j.cells = j.cells[:0]
	count := 0
	for j.dec.More() {
		t, err := j.dec.Token()
		if err != nil {
			return nil, pos, j.syntax(n, err)
		}
		count++
		var c cell
		switch v := t.(type) {
		case string:
			c = cell{kind: text, text: v}
		case json.Number:
			c = cell{kind: text, text: string(v)}
		case bool:
			c = cell{kind: text, text: strconv.FormatBool(v)}
		case nil:
		default:
			return nil, pos, j.fail(n, "value %d is an array or object, want a string, number or null", count)
		}
		// Cells beyond the columns are counted, not kept.
		if count <= j.ncols {
			j.cells = append(j.cells, c)
		}
	}
	if err := j.expect(n, ']', "the end of the row"); err != nil {
		return nil, pos, err
	}
	if count != j.ncols {
		return nil, pos, badRow{j.fail(n, "has %d values, want %d (one per column)", count, j.ncols)}
	}
	return j.cells, pos, nil
}

// badRow is a problem with one row that does not stop the read.
type badRow struct{ err *Error }

func (b badRow) Error() string { return b.err.Error() }
