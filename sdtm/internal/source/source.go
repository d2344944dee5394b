// Package source is what the SDTM format readers (csvfile, datasetjson,
// xpt) hand package sdtm: a file's column names, then its rows one at a
// time, each value a Cell and each row at a Position, with problems as
// *Error located in the file. Package sdtm converts and validates the
// rows the same way whatever their format; a reader only decodes.
package source

import (
	"fmt"
	"strconv"
	"strings"
)

// Records is a format's reader: the column names, then one row at a time.
type Records interface {
	// Columns is called once, before Next; problems are returned as
	// *Error.
	Columns() ([]string, error)
	// Next returns the next row, valid until the following call, and
	// io.EOF after the last one. A BadRow is a problem with that row
	// alone; any other error ends the read.
	Next() ([]Cell, Position, error)
}

// Cell is one value of a row as its format gave it: text (CSV, JSON
// strings, XPT character variables) or a number (JSON numbers, XPT
// numeric variables). The conversion reads either kind as whatever the
// column needs.
type Cell struct {
	Kind Kind
	Text string
	Num  float64
}

// Kind is what a Cell holds.
type Kind uint8

const (
	Missing Kind = iota
	Text
	Number
)

// Position is where a row is in its file: a CSV line, or a row or
// observation number.
type Position struct {
	Line int
	Row  int
}

// Error is a problem at p.
func (p Position) Error(file, column, msg string) *Error {
	return &Error{File: file, Line: p.Line, Row: p.Row, Column: column, Msg: msg}
}

// Error locates one problem in an input file. A CSV problem has the Line
// it starts on; a Dataset-JSON or XPT problem has the Row: the 1-based
// index of the row in the Dataset-JSON rows array, or the XPT observation
// number. Both are zero for a problem with the file as a whole.
type Error struct {
	File   string
	Line   int
	Row    int
	Column string
	Msg    string
}

func (e *Error) Error() string {
	loc := e.File
	switch {
	case e.Line > 0:
		loc += ":" + strconv.Itoa(e.Line)
	case e.Row > 0:
		loc += ": row " + strconv.Itoa(e.Row)
	}
	if e.Column != "" {
		loc += ": column " + e.Column
	}
	return loc + ": " + e.Msg
}

// BadRow is a problem with one row that does not stop the read.
type BadRow struct{ Err *Error }

func (b BadRow) Error() string { return b.Err.Error() }

// TooLargeError is a read stopped at its budget of decompressed bytes:
// the input holds more than Limit bytes once decompressed.
type TooLargeError struct {
	File  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: more than %s once decompressed, the most one upload may hold", e.File, SizeText(e.Limit))
}

// MaxColumns bounds the values of a record; SDTM domains have tens of
// variables, XPT v5 members at most 9999.
const MaxColumns = 10000

// Bounds are the limits a reader enforces as it decodes (sdtm.Limits):
// the bytes of a record and of a value, and the nesting of Dataset-JSON.
type Bounds struct {
	Record, Value, Depth int
}

// ValueTooLong says a value passed b.Value.
func ValueTooLong(b Bounds) string {
	return fmt.Sprintf("value longer than %s, the most a value may be", SizeText(int64(b.Value)))
}

// SizeText is n bytes as a person reads a limit.
func SizeText(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// ColumnName is a header's column name as the conversion looks it up.
func ColumnName(h string) string {
	return strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}
