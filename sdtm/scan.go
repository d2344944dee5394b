package sdtm

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sdtm/internal/csvfile"
	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// read converts every row of src and, if all are valid, adds them to b.
func read(file string, src source.Records, study string, l Limits, b *Batch) error {
	return scan(file, src, study, l, 0, func(out *Batch, s span) error {
		b.add(out, s)
		return nil
	})
}

// scan converts every row of src, collecting the problems found (up to
// l.Errors). While every row so far is valid it hands the records to
// emit, chunk records at a time (all at the end when chunk is 0), each
// chunk in a Batch of its own that emit may keep. After the first invalid
// row emit is no longer called, but the rows are still checked so that
// every problem is reported; the caller undoes what it did with the
// earlier chunks. An error from emit ends the read and is returned as is,
// as is a *TooLargeError.
func scan(file string, src source.Records, study string, l Limits, chunk int, emit func(*Batch, span) error) error {
	header, err := src.Columns()
	if err != nil {
		return err
	}
	cols, err := columnIndex(file, header, isCSV(src))
	if err != nil {
		return err
	}
	var (
		out     Batch
		errs    Errors
		domain  string
		at      []int32
		emitted bool
		seen    keys
		r       = row{file: file}
	)
	r.locate(cols)
	flush := func() error {
		s := span{file: file, domain: domain, lines: isCSV(src), at: at}
		err := emit(&out, s)
		out, at, emitted = Batch{}, nil, true
		return err
	}
	// report adds problems and says whether there are too many to go on.
	report := func(es ...*Error) bool {
		errs = append(errs, es...)
		if len(errs) < l.Errors {
			return false
		}
		errs = append(errs[:l.Errors], &Error{File: file, Msg: "too many errors; stopped reading"})
		return true
	}
	for {
		cells, pos, err := src.Next()
		if err != nil {
			// Matched only when there is an error: the targets of
			// errors.As escape, and rows are many.
			if stop, tooLarge := readError(file, pos, err, report); tooLarge != nil {
				return tooLarge
			} else if stop {
				break
			}
			continue
		}
		if domain == "" {
			if domain, err = checkColumns(file, cols, cells, pos); err != nil {
				return err
			}
		}
		r.pos, r.cells, r.errs = pos, cells, r.errs[:0]
		r.check(domain, study, len(header), &seen, &out)
		if report(r.errs...) {
			break
		}
		if len(errs) > 0 {
			// The file will be rejected: keep checking rows, not them.
			out.truncate()
			at = at[:0]
			continue
		}
		if pos.Line > 0 {
			at = append(at, int32(pos.Line))
		} else {
			at = append(at, int32(pos.Row))
		}
		if chunk > 0 && len(at) >= chunk {
			if err := flush(); err != nil {
				return err
			}
			// A file that filled one chunk likely fills more: make room
			// for the next at once rather than growing it record by record.
			out.reserve(domain, chunk)
			at = make([]int32, 0, chunk)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if domain == "" {
		return &Error{File: file, Msg: "no data rows"}
	}
	if len(at) > 0 || !emitted {
		return flush()
	}
	return nil
}

// readError handles an error of a format's reader: the end of the file or
// a problem that ends the read (stop), a problem with one row (reported),
// or a *TooLargeError, returned for the read to return as it is.
func readError(file string, pos source.Position, err error, report func(...*Error) bool) (stop bool, tooLarge *TooLargeError) {
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	var bad source.BadRow
	if errors.As(err, &bad) {
		return report(bad.Err), nil
	}
	if errors.As(err, &tooLarge) {
		return true, tooLarge
	}
	var e *Error
	if !errors.As(err, &e) {
		e = pos.Error(file, "", err.Error())
	}
	report(e)
	return true, nil
}

// check converts one row into out, checking what is common to all domains.
func (r *row) check(domain, study string, ncols int, seen *keys, out *Batch) {
	defer r.sortErrors()
	if len(r.cells) != ncols {
		r.fail("", fmt.Sprintf("has %d values, want %d (one per column)", len(r.cells), ncols))
		return
	}
	if d := strings.ToUpper(r.str(cDOMAIN)); d != domain {
		r.fail("DOMAIN", fmt.Sprintf("%s in a %s file", quoted(d), domain))
	}
	if s := r.required(cSTUDYID); s != "" && s != study {
		r.fail("STUDYID", fmt.Sprintf("%s, but the study being loaded is %q", quoted(s), study))
	}
	k, seqCol, ok := r.convert(domain, study, out)
	r.checkRanges(domain)
	if seqCol != cUSUBJID && !r.failed(seqCol) && k.seq < 1 {
		r.fail(seqCol.String(), fmt.Sprintf("%q is not a positive whole number", strconv.Itoa(k.seq)))
		return
	}
	if !ok {
		return
	}
	if first, dup := seen.add(k, r.pos); dup {
		r.fail(seqCol.String(), duplicateMsg(k, seqCol.String(), first))
	}
}

func isCSV(src source.Records) bool {
	_, ok := src.(*csvfile.Records)
	return ok
}

// checkColumns finds the file's domain from its first row and checks the
// header has the columns trialwatch needs of it.
func checkColumns(file string, cols map[string]int, cells []source.Cell, pos source.Position) (string, error) {
	headerPos := source.Position{}
	if pos.Line > 0 {
		headerPos.Line = 1
	}
	i, ok := cols["DOMAIN"]
	if !ok {
		return "", headerPos.Error(file, "", "lacks the DOMAIN column, so its domain is unknown")
	}
	var domain string
	if i < len(cells) {
		domain = strings.ToUpper(cellString(cells[i]))
	}
	need, ok := requiredColumns[domain]
	if !ok {
		return "", pos.Error(file, "DOMAIN", fmt.Sprintf("domain %s is not one trialwatch reads (want one of %s)", quoted(domain), strings.Join(Domains, ", ")))
	}
	var lacking []string
	for _, c := range need {
		if _, ok := cols[c]; !ok {
			lacking = append(lacking, c)
		}
	}
	if len(lacking) > 0 {
		return "", headerPos.Error(file, "", fmt.Sprintf("%s file lacks required column(s) %s", domain, strings.Join(lacking, ", ")))
	}
	return domain, nil
}

// key identifies a record within a domain: USUBJID and --SEQ (zero in DM,
// where a subject has one record).
type key struct {
	id  string
	seq int
}

func duplicateMsg(k key, seqCol string, first source.Position) string {
	where := fmt.Sprintf("row %d", first.Row)
	if first.Line > 0 {
		where = fmt.Sprintf("line %d", first.Line)
	}
	if seqCol == "USUBJID" {
		return fmt.Sprintf("subject %s appears twice (first on %s)", quoted(k.id), where)
	}
	return fmt.Sprintf("duplicate key USUBJID %s, %s %d (first on %s)", quoted(k.id), seqCol, k.seq, where)
}

// reserve makes room in b for n records of domain.
func (b *Batch) reserve(domain string, n int) {
	switch domain {
	case "DM":
		b.Subjects = make([]clinical.Subject, 0, n)
	case "EX":
		b.Doses = make([]clinical.Dose, 0, n)
	case "AE":
		b.Events = make([]clinical.AdverseEvent, 0, n)
	case "LB":
		b.Labs = make([]clinical.LabResult, 0, n)
	case "CM":
		b.ConMeds = make([]ConMed, 0, n)
	case "DS":
		b.Dispositions = make([]Disposition, 0, n)
	}
}

func (b *Batch) truncate() {
	b.Subjects, b.Doses, b.Events = b.Subjects[:0], b.Doses[:0], b.Events[:0]
	b.Labs, b.ConMeds, b.Dispositions = b.Labs[:0], b.ConMeds[:0], b.Dispositions[:0]
}

// span locates the records one file added to a Batch.
type span struct {
	file   string
	domain string
	from   int     // index of the first record in the domain's slice
	lines  bool    // at holds CSV lines, not row numbers
	at     []int32 // per record
}

// add appends the records one file held, remembering where they came from.
func (b *Batch) add(out *Batch, s span) {
	s.from = b.count(s.domain)
	b.Subjects = join(b.Subjects, out.Subjects)
	b.Doses = join(b.Doses, out.Doses)
	b.Events = join(b.Events, out.Events)
	b.Labs = join(b.Labs, out.Labs)
	b.ConMeds = join(b.ConMeds, out.ConMeds)
	b.Dispositions = join(b.Dispositions, out.Dispositions)
	b.spans = append(b.spans, s)
}

// Append adds o's records to b, with where they were read, so that
// CheckSubjects can still locate them.
func (b *Batch) Append(o *Batch) {
	for _, s := range o.spans {
		s.from += b.count(s.domain)
		b.spans = append(b.spans, s)
	}
	b.Subjects = append(b.Subjects, o.Subjects...)
	b.Doses = append(b.Doses, o.Doses...)
	b.Events = append(b.Events, o.Events...)
	b.Labs = append(b.Labs, o.Labs...)
	b.ConMeds = append(b.ConMeds, o.ConMeds...)
	b.Dispositions = append(b.Dispositions, o.Dispositions...)
}

func (b *Batch) count(domain string) int {
	switch domain {
	case "DM":
		return len(b.Subjects)
	case "EX":
		return len(b.Doses)
	case "AE":
		return len(b.Events)
	case "LB":
		return len(b.Labs)
	case "CM":
		return len(b.ConMeds)
	case "DS":
		return len(b.Dispositions)
	}
	return 0
}

// join appends, taking over the new records when there are none yet
// rather than copying a domain of maybe millions.
func join[T any](to, from []T) []T {
	if len(to) == 0 {
		return from
	}
	return append(to, from...)
}
