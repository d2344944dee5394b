package sdtm

import (
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
	g := &csvGuard{r: r, file: file, limits: l, line: 1, recLine: 1, atStart: true}
	cr := csv.NewReader(g)
	cr.ReuseRecord = true
	// A row with the wrong number of cells is reported like any other bad
	// row rather than ending the read.
	cr.FieldsPerRecord = -1
	return &csvRecords{file: file, r: cr}
}

type csvRecords struct {
	file   string
	r      *csv.Reader
	header []string
	cells  []cell
}

func (c *csvRecords) columns() ([]string, error) {
	header, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: c.file, Msg: "empty file: want a header row"}
		}
		if fatal := asFatal(err, nil); fatal != nil {
			return nil, fatal
		}
		return nil, &Error{File: c.file, Line: 1, Msg: err.Error()}
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
		if fatal := asFatal(err, c.header); fatal != nil {
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
	for _, v := range rec {
		c.cells = append(c.cells, cell{kind: text, text: v})
	}
	return c.cells, position{line: line}, nil
}

// asFatal returns err as it should end a read when it is a limit's: the
// guard's error comes through the CSV parser, which must not be taken for
// one of the parser's own. header names the column of a value too long.
func asFatal(err error, header []string) error {
	var tooLarge *TooLargeError
	if errors.As(err, &tooLarge) {
		return tooLarge
	}
	var limit *csvLimitError
	if !errors.As(err, &limit) {
		return nil
	}
	e := limit.err
	if limit.field >= 0 && limit.field < len(header) {
		e.Column = columnName(header[limit.field])
	}
	return e
}

// csvLimitError is a limit a CSV record passed; field is the value that
// passed Limits.Value, or -1.
type csvLimitError struct {
	err   *Error
	field int
}

func (e *csvLimitError) Error() string { return e.err.Error() }

// maxColumns bounds the values of a record; SDTM domains have tens of
// variables, XPT v5 members at most 9999.
const maxColumns = 10000

// csvGuard stands between a CSV file and encoding/csv, which holds a whole
// record in memory: it follows the quoting to see where records and
// values end, and fails the read as soon as one is longer than its limit
// or a record has more values than any SDTM file, before the parser has
// buffered more than that.
type csvGuard struct {
	r      io.Reader
	file   string
	limits Limits

	line    int  // of the byte being read
	recLine int  // where the current record starts
	recLen  int  // bytes of the current record so far
	valLen  int  // bytes of the current value so far
	field   int  // index of the current value in its record
	quoted  bool // within a quoted value
	closed  bool // just after a quoted value's closing quote: a quote now is an escaped one
	atStart bool // at the start of a value
	err     error
}

func (g *csvGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; {
		// Most bytes are a value's own: they are taken a run at a time.
		stops := &csvStops[0]
		if g.quoted {
			stops = &csvStops[1]
		}
		j := i
		for j < n && !stops[p[j]] {
			j++
		}
		run := j - i
		if run == 0 {
			if g.err = g.scan(p[i]); g.err != nil {
				return i, g.err
			}
			i++
			continue
		}
		g.atStart, g.closed = false, false
		if fits := min(g.limits.Value-g.valLen, g.limits.Record-g.recLen); run > fits {
			// The byte after those that fit passes a limit.
			g.valLen, g.recLen = g.valLen+fits+1, g.recLen+fits+1
			g.err = g.check()
			return i + fits, g.err
		}
		g.valLen, g.recLen = g.valLen+run, g.recLen+run
		i += run
	}
	return n, err
}

// csvStops are the bytes scan must see, outside quotes and within.
var csvStops = func() (s [2][256]bool) {
	s[0]['"'], s[0][','], s[0]['\n'] = true, true, true
	s[1]['"'], s[1]['\n'] = true, true
	return s
}()

func (g *csvGuard) scan(c byte) error {
	g.recLen++
	switch {
	case g.quoted:
		if c == '"' {
			g.quoted, g.closed = false, true
			return g.check()
		}
		if c == '\n' {
			g.line++
		}
		g.valLen++
		return g.check()
	case c == ',':
		g.field++
		g.valLen, g.atStart, g.closed = 0, true, false
		if g.field >= maxColumns {
			return &csvLimitError{&Error{File: g.file, Line: g.recLine, Msg: fmt.Sprintf("has more than %d values, more than any SDTM file", maxColumns)}, -1}
		}
		return g.check()
	case c == '\n':
		g.line++
		g.recLine, g.recLen, g.valLen, g.field = g.line, 0, 0, 0
		g.atStart, g.closed = true, false
		return nil
	case c == '"' && (g.atStart || g.closed):
		g.quoted = true // opening, or an escaped quote ("") in a quoted value
	}
	g.valLen++
	g.atStart, g.closed = false, false
	return g.check()
}

func (g *csvGuard) check() error {
	switch {
	case g.valLen > g.limits.Value:
		return &csvLimitError{&Error{File: g.file, Line: g.recLine, Msg: valueTooLong(g.limits)}, g.field}
	case g.recLen > g.limits.Record:
		return &csvLimitError{&Error{File: g.file, Line: g.recLine, Msg: fmt.Sprintf("record longer than %s, the most a record may be", sizeText(int64(g.limits.Record)))}, -1}
	}
	return nil
}

func valueTooLong(l Limits) string {
	return fmt.Sprintf("value longer than %s, the most a value may be", sizeText(int64(l.Value)))
}
