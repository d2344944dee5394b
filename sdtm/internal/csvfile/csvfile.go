// Package csvfile decodes SDTM CSV files for package sdtm: the header,
// then one record at a time, every value text (R's NA and empty cells
// are read as missing by the conversion). A guard in front of
// encoding/csv bounds a record's length and values as the bytes arrive.
package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// New reads the CSV file r, which errors call file, within the bounds l.
func New(file string, r io.Reader, l source.Bounds) *Records {
	cr := csv.NewReader(newCSVGuard(r, file, l))
	cr.ReuseRecord = true
	// A row with the wrong number of cells is reported like any other bad
	// row rather than ending the read.
	cr.FieldsPerRecord = -1
	return &Records{file: file, r: cr, limits: l}
}

// Records is a CSV file's rows (source.Records).
type Records struct {
	file   string
	r      *csv.Reader
	limits source.Bounds
	header []string
	cells  []source.Cell
}

func (c *Records) Columns() ([]string, error) {
	header, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &source.Error{File: c.file, Msg: "empty file: want a header row"}
		}
		if fatal := asFatal(err); fatal != nil {
			return nil, fatal
		}
		return nil, &source.Error{File: c.file, Line: 1, Msg: err.Error()}
	}
	for _, h := range header {
		if len(h) > c.limits.Value {
			return nil, &source.Error{File: c.file, Line: 1, Msg: source.ValueTooLong(c.limits)}
		}
	}
	// The reader reuses its record's slice; the names must outlive it.
	c.header = append([]string(nil), header...)
	return c.header, nil
}

func (c *Records) Next() ([]source.Cell, source.Position, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, source.Position{}, io.EOF
		}
		if fatal := asFatal(err); fatal != nil {
			return nil, source.Position{}, fatal
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, source.Position{Line: pe.StartLine}, &source.Error{File: c.file, Line: pe.StartLine, Msg: fmt.Sprintf("%v (line %d, character %d)", pe.Err, pe.Line, pe.Column)}
		}
		return nil, source.Position{}, &source.Error{File: c.file, Msg: err.Error()}
	}
	line, _ := c.r.FieldPos(0)
	c.cells = c.cells[:0]
	for i, v := range rec {
		if len(v) > c.limits.Value {
			// Within a record of bounded length, so the read goes on.
			e := &source.Error{File: c.file, Line: line, Msg: source.ValueTooLong(c.limits)}
			if i < len(c.header) {
				e.Column = source.ColumnName(c.header[i])
			}
			return nil, source.Position{Line: line}, source.BadRow{Err: e}
		}
		c.cells = append(c.cells, source.Cell{Kind: source.Text, Text: v})
	}
	return c.cells, source.Position{Line: line}, nil
}

// asFatal returns err as it should end a read when it is a limit's: the
// guard's error comes through the CSV parser, which must not be taken for
// one of the parser's own.
func asFatal(err error) error {
	var tooLarge *source.TooLargeError
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
type csvLimitError struct{ err *source.Error }

func (e *csvLimitError) Error() string { return e.err.Error() }

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
	limits source.Bounds

	line    int // of the bytes being read
	recLine int // where the current record starts
	recLen  int // bytes of the current record so far
	quotes  int // in the current record so far
	commas  int // in the current record so far, quoted or not: at least its values less one
	err     error
}

func newCSVGuard(r io.Reader, file string, l source.Bounds) *csvGuard {
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
			g.err = &csvLimitError{&source.Error{File: g.file, Line: g.recLine, Msg: fmt.Sprintf("record longer than %s, the most a record may be", source.SizeText(int64(g.limits.Record)))}}
			return i + fits, g.err
		}
		g.commas += bytes.Count(seg, []byte{','})
		if g.commas >= source.MaxColumns {
			g.err = &csvLimitError{&source.Error{File: g.file, Line: g.recLine, Msg: fmt.Sprintf("has more than %d values, more than any SDTM file", source.MaxColumns)}}
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
