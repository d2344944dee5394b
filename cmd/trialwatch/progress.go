package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// progressEvery is how often progress is logged when stderr is not a
// terminal (a file, a pipe, a container's log).
var progressEvery = 10 * time.Second

// progress reports how far a long step has got: on a terminal, one line
// redrawn in place; elsewhere, a log line every progressEvery and one as
// each step ends, with no control characters.
type progress struct {
	w     io.Writer
	term  bool
	log   *slog.Logger // when not a terminal
	label string
	total int64 // bytes of the step, 0 when unknown
	bytes atomic.Int64
	rows  atomic.Int64
	began time.Time
	last  time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
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

// start begins a new step of total bytes (0 when unknown).
func (p *progress) start(label string, total int64) {
	p.label, p.total, p.began, p.last = label, total, time.Now(), time.Now()
	p.bytes.Store(0)
	p.rows.Store(0)
	if p.term {
		p.draw(false)
	}
}

// reader counts what r yields towards the current step.
func (p *progress) reader(r io.Reader) io.Reader { return &countingReader{r: r, p: p} }

func (p *progress) add(n int) {
	p.bytes.Add(int64(n))
	p.tick()
}

// setRows says how many records of the step are read so far.
func (p *progress) setRows(n int) {
	p.rows.Store(int64(n))
	p.tick()
}

// relabel names the current step anew.
func (p *progress) relabel(label string) {
	p.label = label
	p.tick()
}

func (p *progress) tick() {
	switch since := time.Since(p.last); {
	case p.term && since > 100*time.Millisecond:
		p.draw(false)
	case !p.term && since >= progressEvery:
		p.logLine("in progress")
	}
}

// finish ends the current step.
func (p *progress) finish() {
	if p.term {
		p.draw(true)
		return
	}
	p.logLine("finished")
}

// rates are the step's rows per second and, when its size is known, the
// share done and the time left at the pace so far.
func (p *progress) rates() (rowsPerSec float64, done float64, eta time.Duration) {
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

func (p *progress) logLine(msg string) {
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

func (p *progress) draw(final bool) {
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
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}
