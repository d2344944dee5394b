package sdtm

import (
	"fmt"
	"io"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// Limits bound the work and memory of one read, whatever its input: a
// file's content comes from whoever uploads it, and a few kilobytes of
// gzip can decompress to gigabytes, or to a line, a value or a nesting of
// Dataset-JSON arrays no SDTM file has. Each is found as soon as the input
// passes it, not after it was read whole. A zero field takes its default
// (DefaultLimits).
type Limits struct {
	// Bytes bounds the bytes read once decompressed; beyond them the read
	// fails with a *TooLargeError. Reads that share a Budget share it
	// instead.
	Bytes int64
	// Record bounds one CSV record (a line, or more when quoted values
	// hold line breaks), one Dataset-JSON row or other nested value, and
	// one XPT observation, in bytes.
	Record int
	// Value bounds one value (a cell, a column name, any JSON string or
	// number), in bytes. A CSV value is measured once its record is read,
	// so one longer than Record is reported as its record.
	Value int
	// Depth bounds the nesting of Dataset-JSON arrays and objects; the
	// file's own object is depth 1, a row depth 3.
	Depth int
	// Errors is how many problems a read reports at most, before a last
	// one saying it stopped.
	Errors int
}

// DefaultLimits are what a read is bounded by unless told otherwise: far
// beyond any SDTM file (an SDTM record is a few hundred bytes, a value at
// most 200 in XPT v5, and Dataset-JSON nests three deep), and small
// enough that memory stays flat whatever the input.
var DefaultLimits = Limits{Bytes: 16 << 30, Record: 1 << 20, Value: 8 << 10, Depth: 32, Errors: maxErrors}

// OrDefault is l with its zero fields those of DefaultLimits.
func (l Limits) OrDefault() Limits {
	d := DefaultLimits
	if l.Bytes <= 0 {
		l.Bytes = d.Bytes
	}
	if l.Record <= 0 {
		l.Record = d.Record
	}
	if l.Value <= 0 {
		l.Value = d.Value
	}
	if l.Depth <= 0 {
		l.Depth = d.Depth
	}
	if l.Errors <= 0 {
		l.Errors = d.Errors
	}
	return l
}

// bounds are the limits a format's reader enforces itself.
func (l Limits) bounds() source.Bounds {
	return source.Bounds{Record: l.Record, Value: l.Value, Depth: l.Depth}
}

// Option changes how Read, Stream, Domain or Study read a file.
type Option func(*options)

type options struct {
	limits Limits
	budget *Budget
}

func readOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	o.limits = o.limits.OrDefault()
	return o
}

// WithLimits bounds the read by l (zero fields: DefaultLimits).
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// WithBudget makes the read take the bytes it decompresses from b, which
// other reads may share, such as the files of one upload; Limits.Bytes
// then does not apply.
func WithBudget(b *Budget) Option { return func(o *options) { o.budget = b } }

// Budget is decompressed bytes that reads share (WithBudget): each takes
// what it reads, and a read fails with a *TooLargeError once it is spent.
// Reads sharing it must run one after another.
type Budget struct {
	limit, left int64
}

// NewBudget returns a Budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit, left: limit} }

// TooLargeError is a read stopped at its Budget (or Limits.Bytes): the
// input holds more than Limit bytes once decompressed.
type TooLargeError = source.TooLargeError

// budgetReader counts what r gives against a Budget.
type budgetReader struct {
	r    io.Reader
	b    *Budget
	file string
}

func (br *budgetReader) Read(p []byte) (int, error) {
	if br.b.left < 0 {
		return 0, &TooLargeError{File: br.file, Limit: br.b.limit}
	}
	// Read one byte more than is left, to tell a file that ends at the
	// limit from one that goes past it.
	if int64(len(p)) > br.b.left+1 {
		p = p[:br.b.left+1]
	}
	n, err := br.r.Read(p)
	br.b.left -= int64(n)
	if br.b.left < 0 {
		return n + int(br.b.left), &TooLargeError{File: br.file, Limit: br.b.limit}
	}
	return n, err
}

// spent reports whether the read went past its budget.
func (br *budgetReader) spent() bool { return br.b.left < 0 }

// quoted is v quoted for a message, shortened when long: a message quotes
// what it refuses, and a refused value may be as long as Limits.Value.
func quoted(v string) string {
	const most = 64
	if len(v) <= most {
		return fmt.Sprintf("%q", v)
	}
	cut := most
	for cut > 0 && !isRuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", v[:cut], len(v))
}

func isRuneStart(b byte) bool { return b&0xc0 != 0x80 }
