// Package progress reports how far a command's long steps have got: on a
// terminal, one line redrawn in place; elsewhere (a file, a pipe, a
// container's log), a log line every so often and one as each step ends,
// with no control characters.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// DefaultEvery is how often progress is logged off a terminal.
const DefaultEvery = 10 * time.Second

// Meter reports the progress of one step at a time: on a terminal, one
// line redrawn in place; elsewhere, a log line every so often (Every)
// and one as each step ends.
type Meter struct {
	w     io.Writer
	term  bool
	every time.Duration
	log   *slog.Logger // when not a terminal
	label string
	total int64 // bytes of the step, 0 when unknown
	bytes atomic.Int64
	rows  atomic.Int64
	began time.Time
	last  time.Time
}

// Option configures a Meter.
type Option func(*Meter)

// Every logs a line at most this often while a step runs, off a
// terminal; 0 logs one at every update. DefaultEvery by default.
func Every(d time.Duration) Option { return func(p *Meter) { p.every = d } }

// New reports to w, redrawing one line when w is a terminal.
func New(w io.Writer, opts ...Option) *Meter {
	p := &Meter{w: w, every: DefaultEvery}
	for _, o := range opts {
		o(p)
	}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.term = true
		}
	}
	if !p.term {
		p.log = slog.New(slog.NewTextHandler(w, nil))
	}
	return p
}

// Start begins a new step of total bytes (0 when unknown).
func (p *Meter) Start(label string, total int64) {
	p.label, p.total, p.began, p.last = label, total, time.Now(), time.Now()
	p.bytes.Store(0)
	p.rows.Store(0)
	if p.term {
		p.draw(false)
	}
}

// Reader counts what r yields towards the current step.
func (p *Meter) Reader(r io.Reader) io.Reader { return &countingReader{r: r, p: p} }

func (p *Meter) add(n int) {
	p.bytes.Add(int64(n))
	p.tick()
}

// SetRows says how many records of the step are read so far.
func (p *Meter) SetRows(n int) {
	p.rows.Store(int64(n))
	p.tick()
}

// Relabel names the current step anew.
func (p *Meter) Relabel(label string) {
	p.label = label
	p.tick()
}

func (p *Meter) tick() {
	switch since := time.Since(p.last); {
	case p.term && since > 100*time.Millisecond:
		p.draw(false)
	case !p.term && since >= p.every:
		p.logLine("in progress")
	}
}

// Finish ends the current step.
func (p *Meter) Finish() {
	if p.term {
		p.draw(true)
		return
	}
	p.logLine("finished")
}

// rates are the step's rows per second and, when its size is known, the
// share done and the time left at the pace so far.
func (p *Meter) rates() (rowsPerSec float64, done float64, eta time.Duration) {
	elapsed := time.Since(p.began)
	if s := elapsed.Seconds(); s > 0 {
		rowsPerSec = float64(p.rows.Load()) / s
	}
	if p.total > 0 {
		done = min(float64(p.bytes.Load())/float64(p.total), 1)
		if done > 0 {
			eta = time.Duration(float64(elapsed) * (1 - done) / done)
		}
	}
	return rowsPerSec, done, eta
}

func (p *Meter) logLine(msg string) {
	p.last = time.Now()
	attrs := []any{"step", p.label, "elapsed", time.Since(p.began).Round(time.Millisecond)}
	rowsPerSec, done, eta := p.rates()
	if rows := p.rows.Load(); rows > 0 {
		attrs = append(attrs, "rows", rows, "rows_per_s", int64(rowsPerSec))
	}
	if p.total > 0 {
		attrs = append(attrs, "done", fmt.Sprintf("%.1f%%", done*100), "size", mib(p.total))
		if msg == "in progress" {
			attrs = append(attrs, "eta", eta.Round(time.Second))
		}
	}
	p.log.Info(msg, attrs...)
}

func (p *Meter) draw(final bool) {
	p.last = time.Now()
	line := p.label
	rowsPerSec, done, eta := p.rates()
	if p.total > 0 {
		line = fmt.Sprintf("%-24s %5.1f%% of %s", p.label, done*100, mib(p.total))
	}
	if rows := p.rows.Load(); rows > 0 {
		line += fmt.Sprintf("  %d rows, %.0f rows/s", rows, rowsPerSec)
		if !final && eta > 0 {
			line += fmt.Sprintf(", %v left", eta.Round(time.Second))
		}
	}
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
}

// mib says n bytes in MiB, or KiB when under one.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

type countingReader struct {
	r io.Reader
	p *Meter
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

// Open opens the file at path as a step labelled label, of its size: the
// step advances as the file is read and ends when it is closed.
func (p *Meter) Open(label, path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	p.Start(label, size)
	return meteredFile{p.Reader(f), f, p}, nil
}

// meteredFile ends its step when it is closed.
type meteredFile struct {
	io.Reader
	f *os.File
	p *Meter
}

func (m meteredFile) Close() error {
	m.p.Finish()
	return m.f.Close()
}
