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
func ReadCSV(file string, r io.Reader, study string, b *Batch) error {
	return read(file, newCSVRecords(file, r), study, b)
}

func newCSVRecords(file string, r io.Reader) *csvRecords {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	// A row with the wrong number of cells is reported like any other bad
	// row rather than ending the read.
	cr.FieldsPerRecord = -1
	return &csvRecords{file: file, r: cr}
}

type csvRecords struct {
	file  string
	r     *csv.Reader
	cells []cell
}

func (c *csvRecords) columns() ([]string, error) {
	header, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: c.file, Msg: "empty file: want a header row"}
		}
		return nil, &Error{File: c.file, Line: 1, Msg: err.Error()}
	}
	// The reader reuses its record's slice; the names must outlive it.
	return append([]string(nil), header...), nil
}

func (c *csvRecords) next() ([]cell, position, error) {
	rec, err := c.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, position{}, io.EOF
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
