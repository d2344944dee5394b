package sdtm

import (
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// MaxErrors is how many problems a read reports at most unless its
// Limits.Errors says otherwise, before a last one saying it stopped; the
// checks of a Batch (CheckSubjects, CheckSites) report as many.
const MaxErrors = maxErrors

// Stream reads one SDTM file like Read, validating every row the same way,
// but hands the records to fn as it goes, chunkSize records at a time
// (the whole file at once when chunkSize <= 0), so that a file larger than
// memory can be stored. Each chunk is a Batch of its own, which fn may keep
// and which CheckSubjects can locate. Duplicate keys are found across the
// whole file, not only within a chunk.
//
// Stream calls fn only while every row so far is valid. After the first
// invalid row it stops calling fn but reads on, and returns every problem
// found (up to Limits.Errors) as Errors: the file is then rejected, and the
// caller must undo what it did with the chunks it was given (typically by
// rolling back the transaction it stored them in). An error from fn ends
// the read and is returned as is. The read is bounded by DefaultLimits
// unless an option says otherwise; past Limits.Bytes (or a Budget) it
// returns a *TooLargeError.
func Stream(name string, r io.Reader, format Format, study string, chunkSize int, fn func(*Batch) error, opts ...Option) error {
	o := readOptions(opts)
	return withSource(name, r, format, o, func(src source.Records) error {
		return scan(name, src, study, o.limits, max(chunkSize, 0), func(out *Batch, s span) error {
			var b Batch
			b.add(out, s)
			return fn(&b)
		})
	})
}

// Domain returns the domain of a file in format (DM, LB, ...) as its first
// row's DOMAIN says, reading no further: a caller can so order files, DM
// first, before reading them. It returns "" when the file has no readable
// first row or no DOMAIN column; reading the file reports why. A Budget
// given does not apply: the first row is read again with the file.
func Domain(name string, r io.Reader, format Format, opts ...Option) string {
	domain, _ := firstCell(name, r, format, "DOMAIN", opts)
	return strings.ToUpper(domain)
}

// Study returns the STUDYID of a file's first row, reading no further, for
// a caller that is not told the study the readers check every row against.
func Study(name string, r io.Reader, format Format, opts ...Option) (string, error) {
	study, err := firstCell(name, r, format, "STUDYID", opts)
	if err == nil && study == "" {
		err = &Error{File: name, Msg: "no STUDYID in the first row"}
	}
	return study, err
}

// firstCell returns column's cell of a file's first row.
func firstCell(name string, r io.Reader, format Format, column string, opts []Option) (string, error) {
	var cell string
	o := readOptions(opts)
	o.budget = nil
	err := withSource(name, r, format, o, func(src source.Records) error {
		header, err := src.Columns()
		if err != nil {
			return err
		}
		col := slices.IndexFunc(header, func(h string) bool { return source.ColumnName(h) == column })
		cells, _, err := src.Next()
		switch {
		case errors.Is(err, io.EOF):
			return &Error{File: name, Msg: "no data row"}
		case err != nil:
			return err
		case col < 0 || col >= len(cells):
			return &Error{File: name, Msg: "no " + column + " column"}
		}
		cell = strings.TrimSpace(cellString(cells[col]))
		return nil
	})
	return cell, err
}
