package sdtm

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// ReadCSV reads one SDTM domain in CSV into b. The domain comes from the
// DOMAIN column. Every row's STUDYID must be study. R's NA and empty cells
// are missing values. Nothing is added to b unless the whole file is valid.
func ReadCSV(file string, r io.Reader, study string, b *Batch, opts ...Option) error {
	o := readOptions(opts)
	return read(file, newCSVRecords(file, r, o.limits), study, o.limits, b)
}

func newCSVRecords(file string, r io.Reader, l Limits) *csvRecords {
	cr := csv.NewReader(newCSVGuard(r, file, l))
	cr.ReuseRecord = true
	// A row with the wrong number of cells is reported like any other bad
	// row rather than ending the read.
	cr.FieldsPerRecord = -1
	return &csvRecords{file: file, r: cr, limits: l}
}

type csvRecords struct {
	file   string
	r      *csv.Reader
	limits Limits
	header []string
	cells  []cell
}

func (c *csvRecords) columns() ([]string, error) {
	header, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: c.file, Msg: "empty file: want a header row"}
		}
		if fatal := asFatal(err); fatal != nil {
			return nil, fatal
		}
		return nil, &Error{File: c.file, Line: 1, Msg: err.Error()}
	}
	for _, h := range header {
		if len(h) > c.limits.Value {
			return nil, &Error{File: c.file, Line: 1, Msg: valueTooLong(c.limits)}
		}
	}
	// The reader reuses its record's slice; the names must outlive it.
	c.header = append([]string(nil), header...)
	return c.header, nil
}

func (c *csvRecords) next() ([]cell, position, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, position{}, io.EOF
		}
		if fatal := asFatal(err); fatal != nil {
			return nil, position{}, fatal
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, position{line: pe.StartLine}, &Error{File: c.file, Line: pe.StartLine, Msg: fmt.Sprintf("%v (line %d, character %d)", pe.Err, pe.Line, pe.Column)}
		}
		return nil, position{}, &Error{File: c.file, Msg: err.Error()}
	}
	line, _ := c.r.FieldPos(0)
	c.cells = c.cells[:0]
	for i, v := range rec {
		if len(v) > c.limits.Value {
			// Within a record of bounded length, so the read goes on.
			e := &Error{File: c.file, Line: line, Msg: valueTooLong(c.limits)}
			if i < len(c.header) {
				e.Column = columnName(c.header[i])
			}
			return nil, position{line: line}, badRow{e}
		}
		c.cells = append(c.cells, cell{kind: text, text: v})
	}
	return c.cells, position{line: line}, nil
}

// asFatal returns err as it should end a read when it is a limit's: the
// guard's error comes through the CSV parser, which must not be taken for
// one of the parser's own.
func asFatal(err error) error {
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return tooLarge
	}
	var limit *csvLimitError
	if errors.As(err, &limit) {
		return limit.err
	}
	return nil
}

// csvLimitError is a limit a CSV record passed.
type csvLimitError struct{ err *Error }

func (e *csvLimitError) Error() string { return e.err.Error() }

// maxColumns bounds the values of a record; SDTM domains have tens of
// variables, XPT v5 members at most 9999.
const maxColumns = 10000

// csvGuard stands between a CSV file and encoding/csv, which holds a whole
// record in memory, and a string and a slice entry per value: it sees
// where records end and fails the read as soon as one is longer than
// Limits.Record or has more values than any SDTM file, before the parser
// has buffered more than that. A record ends at a line break after an even
// count of quotes, as a quoted value's quotes (escaped ones too) come in
// pairs; so the guard goes a line at a time, and the values' own length is
// checked once a record is parsed.
type csvGuard struct {
	r      io.Reader
	file   string
	limits Limits

	line    int // of the bytes being read
	recLine int // where the current record starts
	recLen  int // bytes of the current record so far
	quotes  int // in the current record so far
	commas  int // in the current record so far, quoted or not: at least its values less one
	err     error
}

func newCSVGuard(r io.Reader, file string, l Limits) *csvGuard {
	return &csvGuard{r: r, file: file, limits: l, line: 1, recLine: 1}
}

func (g *csvGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; {
		end := n
		if nl := bytes.IndexByte(p[i:n], '\n'); nl >= 0 {
			end = i + nl + 1
		}
		seg := p[i:end]
		if fits := g.limits.Record - g.recLen; len(seg) > fits {
			g.err = &csvLimitError{&Error{File: g.file, Line: g.recLine, Msg: fmt.Sprintf("record longer than %s, the most a record may be", sizeText(int64(g.limits.Record)))}}
			return i + fits, g.err
		}
		g.commas += bytes.Count(seg, []byte{','})
		if g.commas >= maxColumns {
			g.err = &csvLimitError{&Error{File: g.file, Line: g.recLine, Msg: fmt.Sprintf("has more than %d values, more than any SDTM file", maxColumns)}}
			return i, g.err
		}
		g.quotes += bytes.Count(seg, []byte{'"'})
		g.recLen += len(seg)
		if seg[len(seg)-1] == '\n' {
			g.line++
			if g.quotes%2 == 0 {
				g.recLine, g.recLen, g.quotes, g.commas = g.line, 0, 0, 0
			}
		}
		i = end
	}
	return n, err
}

func valueTooLong(l Limits) string {
	return fmt.Sprintf("value longer than %s, the most a value may be", sizeText(int64(l.Value)))
}
