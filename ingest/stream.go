package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

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
// a time (DefaultChunk when chunkSize <= 0), and hands them to t as they
// come, up to chunkSize records at once, all in one upload (Target.Store)
// that queues the checks. So it keeps what Ingest promises for a batch
// read whole:
//
//   - every row is validated, and the problems are returned as
//     sdtm.Errors locating them (file, line or row, column), up to
//     Limits.Errors;
//   - all or nothing: a bad row anywhere, a record of an unknown subject
//     or a failed write stores nothing (the target says how: across
//     files and domains, published in one transaction when all
//     services share the database, per service otherwise);
//   - the stores' change detection: loading the same rows again changes
//     nothing, and changed rows are recorded in history;
//   - the subjects with changed data are queued for a check.
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
//
// The reading is bounded by sdtm.DefaultLimits unless WithLimits says
// otherwise, Limits.Bytes for all the files together: past it, IngestFiles
// returns the *sdtm.TooLargeError and stores nothing.
func IngestFiles(ctx context.Context, t Target, study string, files []File, chunkSize int, now time.Time, opts ...Option) (Result, error) {
	if chunkSize <= 0 {
		chunkSize = DefaultChunk
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	l := o.limits.OrDefault()
	limits, budget := sdtm.WithLimits(l), sdtm.WithBudget(sdtm.NewBudget(l.Bytes))
	allowed, who, err := siteScope(ctx, study)
	if err != nil {
		return Result{}, err
	}
	ordered, err := dmFirst(files, limits)
	if err != nil {
		return Result{}, err
	}
	names := make([]string, len(ordered))
	for i, f := range ordered {
		names[i] = f.Name
	}
	return t.Store(ctx, study, names, now, func(u Upload) error {
		s := &streamer{up: u, ctx: ctx, study: study, chunk: chunkSize, read: []sdtm.Option{limits, budget}, progress: o.progress,
			maxErrors: l.Errors, dm: map[string]bool{}, known: map[string]bool{}, allowed: allowed, who: who}
		for _, f := range ordered {
			if err := s.file(f); err != nil {
				return err
			}
		}
		return nil
	})
}

// Option changes how IngestFiles reads.
type Option func(*options)

type options struct {
	limits   sdtm.Limits
	progress func(file string, rows int)
}

// WithProgress has IngestFiles call report as it reads each file, with
// the records read and validated so far in it (stored or not yet).
func WithProgress(report func(file string, rows int)) Option {
	return func(o *options) { o.progress = report }
}

// WithLimits bounds the reading by l (zero fields: sdtm.DefaultLimits);
// l.Bytes bounds all the files together, once decompressed.
func WithLimits(l sdtm.Limits) Option { return func(o *options) { o.limits = l } }

// dmFirst orders files DM first, keeping the order of the rest.
func dmFirst(files []File, opts ...sdtm.Option) ([]File, error) {
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
		out[i].Domain = sdtm.Domain(f.Name, rc, f.Format, opts...)
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

// streamer is one IngestFiles run within its upload.
type streamer struct {
	up        Upload
	ctx       context.Context
	study     string
	chunk     int
	read      []sdtm.Option // limits and the upload's budget of decompressed bytes
	maxErrors int           // problems reported at most
	progress  func(file string, rows int)

	dm    map[string]bool // subjects of the DM records read so far
	known map[string]bool // subjects looked up in the database: whether stored (and of an allowed site)

	allowed func(site string) bool // nil: every site; see siteScope
	who     string

	unknown *problems   // records of unknown subjects in the current file, all counted
	refused sdtm.Errors // records of other sites in the current file, up to the limit
	stop    error       // what ended the current file's stream, if not the file
}

// file streams one file into the transaction.
func (s *streamer) file(f File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	s.unknown, s.refused, s.stop = newProblems(f.Name, s.maxErrors), nil, nil
	send, wait := s.pipeline()
	if s.progress != nil {
		rows, store := 0, send
		send = func(b *sdtm.Batch) error {
			rows += b.Len()
			s.progress(f.Name, rows)
			return store(b)
		}
	}
	err = sdtm.Stream(f.Name, ctxReader{s.ctx, rc}, f.Format, s.study, s.part(), send, s.read...)
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
	if len(errs) == 0 && len(s.refused) == 0 && !s.unknown.any() {
		return nil
	}
	if len(s.refused) == 0 && !s.unknown.any() && one != nil {
		return one
	}
	// Problems with the rows, then records of other sites' subjects and of
	// unknown subjects, each in the file's order and grouped where they
	// repeat, up to the limit a read has. The unknown subjects' rows are
	// all counted: the last line gives the true total.
	partial := len(errs) > 0 && errs[len(errs)-1].Line+errs[len(errs)-1].Row == 0 || len(s.refused) >= s.maxErrors
	errs, rows := groupErrors(f.Name, append(errs, s.refused...))
	if len(errs) > s.maxErrors {
		errs, partial = append(errs[:s.maxErrors], &sdtm.Error{File: f.Name, Msg: "too many errors; stopped reading"}), true
	}
	if s.unknown.any() {
		subjects := len(s.unknown.groups) + len(s.unknown.moreGroups)
		errs = append(errs, s.unknown.errors(fmt.Sprintf("of %d subject(s) neither in DM nor known to the study", subjects))...)
		rows += s.unknown.rows
	}
	return &Problems{Errors: errs, Rows: rows, Partial: partial}
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
			c.labs = s.up.PrepareLabs(b.Labs)
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
	labs PreparedLabs // b.Labs prepared by the upload; nil when none
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
	if s.unknown.any() || len(s.refused) > 0 {
		return nil // the file will be rejected: check, don't write
	}
	var p Part
	for _, c := range parts {
		p.Subjects = append(p.Subjects, c.b.Subjects...)
		p.Doses = append(p.Doses, c.b.Doses...)
		p.Events = append(p.Events, c.b.Events...)
		p.Dispositions = append(p.Dispositions, c.b.Dispositions...)
		p.ConMeds = append(p.ConMeds, c.b.ConMeds...)
		if c.labs != nil {
			p.Labs = append(p.Labs, c.labs)
		}
	}
	if err := s.up.Write(s.ctx, p); err != nil {
		s.stop = err
		return err
	}
	return nil
}

// check checks one part: its subjects are in DM or stored, of a site the
// caller may write.
func (s *streamer) check(b *sdtm.Batch) error {
	if s.allowed != nil && len(s.refused) < s.maxErrors {
		s.refused = append(s.refused, dropMarks(b.CheckSites(s.allowed, s.who))...)
		errs, err := checkTaken(s.ctx, s.up, s.study, b, s.allowed, s.who)
		if err != nil {
			s.stop = err
			return err
		}
		s.refused = append(s.refused, dropMarks(errs)...)
	}
	for _, sub := range b.Subjects {
		if !s.dm[sub.USUBJID] {
			s.dm[strings.Clone(sub.USUBJID)] = true
		}
	}
	// Every record of an unknown subject is counted, past the limit of
	// problems listed too, so the totals reported are true.
	if err := s.lookUp(b); err != nil {
		s.stop = fmt.Errorf("looking up subjects: %w", err)
		return s.stop
	}
	b.EachUnknownSubject(func(id string) bool { return s.dm[id] || s.known[id] }, func(e *sdtm.Error, _ string) bool {
		s.unknown.add(e)
		return true
	})
	return nil
}

// dropMarks leaves out the marks of a limit (problems without a file),
// which the file's own mark replaces.
func dropMarks(errs sdtm.Errors) sdtm.Errors {
	if len(errs) > 0 && errs[len(errs)-1].File == "" {
		return errs[:len(errs)-1]
	}
	return errs
}

// subjectsPerQuery bounds the IN list of a subject look-up.
const subjectsPerQuery = 500

// lookUp finds which subjects the chunk refers to, not yet in DM nor
// looked up, the study has stored.
func (s *streamer) lookUp(b *sdtm.Batch) error {
	var ask []string
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
		found, err := s.up.Known(s.ctx, s.study, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			site, ok := found[id]
			s.known[strings.Clone(id)] = ok && (s.allowed == nil || s.allowed(site))
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
