// Package sdtm reads SDTM domains (DM, EX, AE, LB, CM, DS) into trialwatch's
// types from CSV, CDISC Dataset-JSON v1.1 and SAS XPORT v5 files.
//
// Each format is decoded by its own package (sdtm/internal/csvfile,
// datasetjson, xptfile), which hands over rows of cells. All three go
// through one row conversion, so a file is validated the same way, with
// the same words, whatever its format: required columns, each column
// once, numbers, whole and positive --SEQ numbers, ISO 8601 (possibly
// partial) dates from 1900, known lab units, ranges the right way round
// (normal ranges, start and end dates), text that is UTF-8 without
// control characters, duplicate USUBJID + --SEQ keys and the
// study. A file is all or nothing: nothing is added to the Batch unless
// every row is valid, and the problems found (up to Limits.Errors) are
// returned as Errors.
//
// A read's work is bounded whatever its input (Limits): decompressed
// bytes, the length of a record and of a value, the nesting of
// Dataset-JSON; each is found as the input passes it, so memory stays flat.
//
// Read adds a whole file to a Batch; Stream hands the same records over in
// chunks as it reads, so files larger than memory can be stored, with
// duplicate keys still found across the whole file.
package sdtm

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sdtm/internal/csvfile"
	"github.com/trialwatch/trialwatch/sdtm/internal/datasetjson"
	"github.com/trialwatch/trialwatch/sdtm/internal/source"
	"github.com/trialwatch/trialwatch/sdtm/internal/xptfile"
)

// Batch is what one or more files hold, by domain.
type Batch struct {
	Subjects     []clinical.Subject
	Doses        []clinical.Dose
	Events       []clinical.AdverseEvent
	Labs         []clinical.LabResult
	ConMeds      []ConMed
	Dispositions []Disposition

	// spans remember which file and row each record came from, so that
	// CheckSubjects can point at them.
	spans []span
}

// Len counts the records of all domains.
func (b *Batch) Len() int {
	return len(b.Subjects) + len(b.Doses) + len(b.Events) + len(b.Labs) + len(b.ConMeds) + len(b.Dispositions)
}

// ConMed is one concomitant medication (SDTM CM).
type ConMed = clinical.ConMed

// Disposition is one disposition event (SDTM DS).
type Disposition = clinical.Disposition

// Domains trialwatch reads.
var Domains = []string{"DM", "EX", "AE", "LB", "CM", "DS"}

// Error locates one problem in an input file. A CSV problem has the Line
// it starts on; a Dataset-JSON or XPT problem has the Row: the 1-based
// index of the row in the Dataset-JSON rows array, or the XPT observation
// number. Both are zero for a problem with the file as a whole. The
// format readers make them too, hence the shared definition.
type Error = source.Error

// Errors is every problem found in a file, up to a limit.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap gives errors.As and errors.Is each problem.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// maxErrors bounds how many problems one read reports.
const maxErrors = 100

// Format is a file format Read understands.
type Format string

// The formats, named as a user or an upload form would.
const (
	CSV         Format = "csv"
	DatasetJSON Format = "json" // CDISC Dataset-JSON v1.1
	XPT         Format = "xpt"  // SAS XPORT (transport) version 5
)

// FormatOf returns the format a file name's extension names: .csv, .json
// or .xpt, each optionally followed by .gz.
func FormatOf(name string) (Format, error) {
	ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(strings.ToLower(name), ".gz")))
	switch f := Format(strings.TrimPrefix(ext, ".")); f {
	case CSV, DatasetJSON, XPT:
		return f, nil
	}
	return "", fmt.Errorf("%s: cannot read %q files; trialwatch reads SDTM as CSV (.csv), Dataset-JSON (.json) or SAS XPORT v5 (.xpt), each optionally gzip-compressed (.gz)", name, ext)
}

// ReadFile reads one SDTM file into b, choosing the reader by the file's
// extension (see FormatOf).
func ReadFile(path, study string, b *Batch, opts ...Option) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return Read(path, f, format, study, b, opts...)
}

// Read reads one SDTM file in the given format into b; name is what errors
// call the file. Gzip-compressed input is recognised and decompressed. An
// XPT file's first member is read. The read is bounded by DefaultLimits
// unless an option says otherwise.
func Read(name string, r io.Reader, format Format, study string, b *Batch, opts ...Option) error {
	o := readOptions(opts)
	return withSource(name, r, format, o, func(src source.Records) error { return read(name, src, study, o.limits, b) })
}

// withSource runs fn on a reader of r's rows in format, decompressing
// gzip-compressed input, within o's limits.
func withSource(name string, r io.Reader, format Format, o options, fn func(source.Records) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return &Error{File: name, Msg: "gzip: " + err.Error()}
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	budget := o.budget
	if budget == nil {
		budget = NewBudget(o.limits.Bytes)
	}
	counted := &budgetReader{r: br, b: budget, file: name}
	var err error
	switch format {
	case CSV:
		err = fn(csvfile.New(name, counted, o.limits.bounds()))
	case DatasetJSON:
		err = fn(datasetjson.New(name, counted, o.limits.bounds()))
	case XPT:
		err = fn(xptfile.New(name, counted, "", o.limits.bounds()))
	default:
		return &Error{File: name, Msg: fmt.Sprintf("unknown format %q: want %q, %q or %q", format, CSV, DatasetJSON, XPT)}
	}
	// However a format's reader reported the end of its input, the
	// budget is why it ended.
	if counted.spent() {
		return &TooLargeError{File: name, Limit: budget.limit}
	}
	return err
}
