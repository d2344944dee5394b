package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
)

// progress reports how far a long read has got, on a terminal only: a
// redirected or piped stderr gets no control characters.
type progress struct {
	w     io.Writer
	on    bool
	label string
	total int64
	done  atomic.Int64
	last  time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	return p
}

// start begins a new step of total bytes (0 when unknown).
func (p *progress) start(label string, total int64) {
	p.label, p.total, p.last = label, total, time.Time{}
	p.done.Store(0)
	p.draw(false)
}

// reader counts what r yields towards the current step.
func (p *progress) reader(r io.Reader) io.Reader { return &countingReader{r: r, p: p} }

func (p *progress) add(n int) {
	p.done.Add(int64(n))
	if time.Since(p.last) > 100*time.Millisecond {
		p.draw(false)
	}
}

// relabel names the current step anew, redrawing it at most every 100ms.
func (p *progress) relabel(label string) {
	p.label = label
	if time.Since(p.last) > 100*time.Millisecond {
		p.draw(false)
	}
}

// finish ends the current step's line.
func (p *progress) finish() { p.draw(true) }

func (p *progress) draw(final bool) {
	if !p.on {
		return
	}
	p.last = time.Now()
	line := p.label
	if p.total > 0 {
		pct := float64(p.done.Load()) / float64(p.total) * 100
		line = fmt.Sprintf("%-24s %5.1f%% of %s", p.label, min(pct, 100), mib(p.total))
	}
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}
