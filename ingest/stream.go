package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sdtm"
)

// File is one SDTM file for IngestFiles.
type File struct {
	Name   string      // what errors call it, typically its path
	Format sdtm.Format // see sdtm.FormatOf
	// Domain is the file's domain (DM, EX, ...) when the caller knows it;
	// when "", IngestFiles opens the file once more to read it from the
	// first row.
	Domain string
	// Open opens the file's content, gzip-compressed or not.
	Open func() (io.ReadCloser, error)
}

// PathFile is the File at path, its format chosen by its extension.
func PathFile(path string) (File, error) {
	format, err := sdtm.FormatOf(path)
	if err != nil {
		return File{}, err
	}
	return File{Name: path, Format: format, Open: func() (io.ReadCloser, error) { return os.Open(path) }}, nil
}

// DefaultChunk is how many records IngestFiles writes at a time at most
// when not told: enough to amortize each write's round trips, few enough
// that memory stays small whatever the size of the files.
const DefaultChunk = 10000

// IngestFiles validates and stores SDTM files in bounded memory: it reads
// each file as a stream (sdtm.Stream), a quarter of chunkSize records at
// a time (DefaultChunk when chunkSize <= 0), and writes them as they
// come, up to chunkSize records at once, all in one transaction with the
// checks it queues. So it keeps what Ingest promises for a batch read
// whole:
//
//   - every row is validated, and the problems are returned as
//     sdtm.Errors locating them (file, line or row, column), up to
//     sdtm.MaxErrors;
//   - all or nothing: a bad row anywhere, a record of an unknown subject
//     or a failed write rolls back everything, across files and domains;
//   - the stores' change detection: loading the same rows again changes
//     nothing, and changed rows are recorded in history;
//   - the subjects with changed data are queued for a check in the same
//     transaction.
//
// DM files are read first, whatever their place in files, so the subjects
// they hold count as known to the other domains' files. Reading stops at
// the first file with a problem; that file is still read to its end (or
// to the limit of problems) to report all of them, but nothing more is
// written.
//
// Checking the stored rows of a chunk's subjects costs in proportion to
// their stored rows, so files ordered by subject (as SDTM files are) are
// the cheapest to re-import.
func (l *Local) IngestFiles(ctx context.Context, study string, files []File, chunkSize int, now time.Time) (Result, error) {
	if chunkSize <= 0 {
		chunkSize = DefaultChunk
	}
	allowed, who, err := siteScope(ctx, study)
	if err != nil {
		return Result{}, err
	}
	ordered, err := dmFirst(files)
	if err != nil {
		return Result{}, err
	}
	var res Result
	var firstLabs map[string][][]clinical.LabResult
	var versions map[string]int64
	err = l.db.InTx(ctx, func(tx *sql.Tx) error {
		s := &streamer{l: l, ctx: ctx, tx: tx, study: study, now: now, chunk: chunkSize,
			dm: map[string]bool{}, known: map[string]bool{}, domains: map[string]*domainSum{}}
		if l.HandOffLabs {
			s.handoff = newLabHandoff()
		}
		s.allowed, s.who = allowed, who
		for _, f := range ordered {
			if err := s.file(f); err != nil {
				return err
			}
		}
		res = s.result()
		var err error
		if firstLabs, versions, err = s.handoff.firstTx(ctx, l.checker, tx, study); err != nil {
			return fmt.Errorf("reading lab versions: %w", err)
		}
		if err := l.checker.EnqueueTx(ctx, tx, study, s.changed.list, now); err != nil {
			return err
		}
		return recordTx(ctx, tx, ordered, res)
	})
	if err != nil {
		return Result{}, err
	}
	l.checker.RememberLabs(study, versions, firstLabs)
	if l.Wake != nil {
		l.Wake()
	}
	return res, nil
}

// dmFirst orders files DM first, keeping the order of the rest.
func dmFirst(files []File) ([]File, error) {
	out := make([]File, len(files))
	copy(out, files)
	for i, f := range out {
		if f.Domain != "" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		out[i].Domain = sdtm.Domain(f.Name, rc, f.Format)
		rc.Close()
	}
	slices.SortStableFunc(out, func(a, b File) int {
		switch {
		case a.Domain == "DM" && b.Domain != "DM":
			return -1
		case a.Domain != "DM" && b.Domain == "DM":
			return 1
		}
		return 0
	})
	return out, nil
}

// streamer is one IngestFiles run within its transaction.
type streamer struct {
	l     *Local
	ctx   context.Context
	tx    *sql.Tx
	study string
	now   time.Time
	chunk int

	dm    map[string]bool // subjects of the DM records read so far
	known map[string]bool // subjects looked up in the database: whether stored (and of an allowed site)

	allowed func(site string) bool // nil: every site; see siteScope
	who     string

	domains map[string]*domainSum
	order   []string // domains in the order first written
	changed subjectSet

	unknown sdtm.Errors // records of unknown subjects in the current file
	stop    error       // what ended the current file's stream, if not the file

	handoff *labHandoff
}

type domainSum struct {
	sum      clinical.Summary
	subjects subjectSet
}

// subjectSet is a set of USUBJIDs in first-seen order.
type subjectSet struct {
	seen map[string]bool
	list []string
}

func (s *subjectSet) add(ids []string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, id := range ids {
		if !s.seen[id] {
			s.seen[id] = true
			s.list = append(s.list, id)
		}
	}
}

func (s *streamer) result() Result {
	res := Result{Domains: map[string]clinical.Summary{}, Queued: len(s.changed.list)}
	for _, d := range s.order {
		sum := s.domains[d].sum
		sum.Subjects = s.domains[d].subjects.list
		res.Domains[d] = sum
	}
	return res
}

// file streams one file into the transaction.
func (s *streamer) file(f File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	s.unknown, s.stop = nil, nil
	send, wait := s.pipeline()
	err = sdtm.Stream(f.Name, ctxReader{s.ctx, rc}, f.Format, s.study, s.part(), send)
	if werr := wait(); err == nil {
		err = werr
	}
	switch {
	case s.stop != nil:
		return fmt.Errorf("%s: %w", f.Name, s.stop)
	case s.ctx.Err() != nil:
		return s.ctx.Err()
	}
	var errs sdtm.Errors
	var one *sdtm.Error
	switch {
	case errors.As(err, &errs):
	case errors.As(err, &one):
		errs = sdtm.Errors{one}
	case err != nil:
		return err
	}
	if len(errs) == 0 && len(s.unknown) == 0 {
		return nil
	}
	if len(s.unknown) == 0 && one != nil {
		return one
	}
	// Problems with the rows, then records of unknown subjects, each in
	// the file's order, up to the limit a read has.
	errs = append(errs, s.unknown...)
	if len(errs) > sdtm.MaxErrors || len(s.unknown) >= sdtm.MaxErrors {
		errs = append(errs[:min(len(errs), sdtm.MaxErrors)], &sdtm.Error{File: f.Name, Msg: "too many errors; stopped reading"})
	}
	return errs
}

// pipeline stores chunks in a goroutine of its own, so that reading and
// validating the next records overlaps with storing these. The file is
// read in parts of a quarter chunk (see part), and the goroutine stores
// at once all the parts waiting, up to a chunk: it starts on the first
// part rather than waiting for a whole chunk to be read, and once it is
// the slower side it writes whole chunks. Up to a chunk waits at most.
// What needs no database (making the lab rows) is done before a part is
// handed over, on the reading side. wait closes the pipeline and returns
// once the goroutine has stored (or, after a failure, dropped) every
// part sent.
func (s *streamer) pipeline() (send func(*sdtm.Batch) error, wait func() error) {
	chunks := make(chan chunk, max(1, s.chunk/s.part()-1))
	done := make(chan error, 1)
	var failed atomic.Bool
	go func() { // ends when wait closes chunks
		var err error
		for c := range chunks {
			parts := s.gather(c, chunks)
			if err == nil {
				if err = s.write(parts); err != nil {
					failed.Store(true)
				}
			}
		}
		done <- err
	}()
	send = func(b *sdtm.Batch) error {
		if failed.Load() {
			return errStoreFailed // stop reading: the error comes from wait
		}
		c := chunk{b: b}
		if len(b.Labs) > 0 {
			s.handoff.add(b.Labs)
			labs := checker.NewLabRows(b.Labs)
			c.labs = &labs
		}
		chunks <- c
		return nil
	}
	wait = func() error {
		close(chunks)
		return <-done
	}
	return send, wait
}

// part is how many records the reading side hands over at a time.
func (s *streamer) part() int { return max(1, s.chunk/4) }

// gather returns c and the parts already waiting in chunks after it, up
// to a chunk's records.
func (s *streamer) gather(c chunk, chunks <-chan chunk) []chunk {
	parts := []chunk{c}
	n := c.b.Len()
	for n < s.chunk {
		select {
		case more, ok := <-chunks:
			if !ok {
				return parts
			}
			parts = append(parts, more)
			n += more.b.Len()
		default:
			return parts
		}
	}
	return parts
}

var errStoreFailed = errors.New("storing a chunk failed")

// chunk is one part of a file on its way to be stored.
type chunk struct {
	b    *sdtm.Batch
	labs *checker.LabRows // b.Labs as rows; nil when none
}

// write stores the parts of a file sdtm.Stream read that were waiting
// together: it checks each part's subjects exist and writes them all, or
// once a record of an unknown subject is found only checks the subjects
// of the parts after.
func (s *streamer) write(parts []chunk) error {
	for _, c := range parts {
		if err := s.check(c.b); err != nil {
			return err
		}
	}
	if len(s.unknown) > 0 {
		return nil // the file will be rejected: check, don't write
	}
	b, labs := parts[0].b, parts[0].labs
	if len(parts) > 1 {
		b, labs = merge(parts)
	}
	if labs != nil && s.handoff != nil {
		labs.FirstLabs = s.handoff.gaveFirst
	}
	err := s.l.putTx(s.ctx, s.tx, s.study, b, labs, s.now, func(domain string, sum clinical.Summary) {
		d := s.domains[domain]
		if d == nil {
			d = &domainSum{}
			s.domains[domain] = d
			s.order = append(s.order, domain)
		}
		d.sum.Inserted += sum.Inserted
		d.sum.Updated += sum.Updated
		d.sum.Unchanged += sum.Unchanged
		d.subjects.add(sum.Subjects)
		s.changed.add(sum.Subjects)
	})
	if err != nil {
		s.stop = err
	}
	return err
}

// check checks one part: its domain is stored, and its subjects are
// in DM or stored, of a site the caller may write.
func (s *streamer) check(b *sdtm.Batch) error {
	if err := unsupported(b); err != nil {
		s.stop = err
		return err
	}
	if s.allowed != nil && len(s.unknown) < sdtm.MaxErrors {
		s.unknown = append(s.unknown, b.CheckSites(s.allowed, s.who)...)
	}
	for _, sub := range b.Subjects {
		if !s.dm[sub.USUBJID] {
			s.dm[strings.Clone(sub.USUBJID)] = true
		}
	}
	if len(s.unknown) < sdtm.MaxErrors {
		if err := s.lookUp(b); err != nil {
			s.stop = fmt.Errorf("looking up subjects: %w", err)
			return s.stop
		}
		errs := b.CheckSubjects(func(id string) bool { return s.dm[id] || s.known[id] })
		if len(errs) > 0 && errs[len(errs)-1].File == "" {
			errs = errs[:len(errs)-1] // the limit, which file reports
		}
		s.unknown = append(s.unknown, errs...)
	}
	return nil
}

// merge puts parts' records together for storing: the lab results as the
// rows made of them, the lab results themselves being needed no more.
func merge(parts []chunk) (*sdtm.Batch, *checker.LabRows) {
	var b sdtm.Batch
	var labs *checker.LabRows
	for _, c := range parts {
		b.Subjects = append(b.Subjects, c.b.Subjects...)
		b.Doses = append(b.Doses, c.b.Doses...)
		b.Events = append(b.Events, c.b.Events...)
		b.ConMeds = append(b.ConMeds, c.b.ConMeds...)
		b.Dispositions = append(b.Dispositions, c.b.Dispositions...)
		if c.labs == nil {
			continue
		}
		if labs == nil {
			labs = &checker.LabRows{}
		}
		labs.Append(*c.labs)
	}
	return &b, labs
}

// subjectsPerQuery bounds the IN list of a subject look-up.
const subjectsPerQuery = 500

// lookUp finds which subjects the chunk refers to, not yet in DM nor
// looked up, the study has stored. It asks within the transaction, on
// its connection.
func (s *streamer) lookUp(b *sdtm.Batch) error {
	var ask []any
	asked := map[string]bool{}
	for _, id := range referencedSubjects(b) {
		if s.dm[id] || asked[id] {
			continue
		}
		if _, ok := s.known[id]; ok {
			continue
		}
		asked[id] = true
		ask = append(ask, id)
	}
	for start := 0; start < len(ask); start += subjectsPerQuery {
		chunk := ask[start:min(start+subjectsPerQuery, len(ask))]
		marks := make([]string, len(chunk))
		for i := range chunk {
			marks[i] = "$" + strconv.Itoa(i+2)
		}
		rows, err := s.tx.QueryContext(s.ctx, "SELECT usubjid, site FROM subjects WHERE study = $1 AND usubjid IN ("+strings.Join(marks, ",")+")",
			append([]any{s.study}, chunk...)...)
		if err != nil {
			return err
		}
		found := map[string]bool{}
		for rows.Next() {
			var id, site string
			if err := rows.Scan(&id, &site); err != nil {
				rows.Close()
				return err
			}
			found[id] = s.allowed == nil || s.allowed(site)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range chunk {
			id := id.(string)
			s.known[strings.Clone(id)] = found[id]
		}
	}
	return nil
}

// ctxReader ends a read when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
