package leaktest

import (
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
	"github.com/trialwatch/trialwatch/leakguard/stackdump/capture"
)

// DefaultSettle is how long VerifyNone and VerifyTestMain wait for
// goroutines to end before reporting them: goleak v1.3's fixed retry
// schedule (20 retries, sleeping 1µs doubling up to 100ms), about 430ms.
const DefaultSettle = 430 * time.Millisecond

// Option is a leaktest setting that VerifyNone, VerifyTestMain and Track
// all accept. It is a goleak.Option too, so it sits in the same list as
// goleak's own options; goleak itself ignores it.
type Option struct {
	goleak.Option
	settle time.Duration
}

func (o Option) applyTrack(c *trackConfig) { c.timeout = o.settle }

// Settle sets how long to wait for unexpected goroutines to end before
// failing: checks repeat, backing off, until none remain or d is spent.
// A slow or loaded CI machine needs more than goleak's fixed ~430ms
// (DefaultSettle). VerifyNone and VerifyTestMain never wait less than one
// goleak pass (goleak v1.3 cannot be told to retry less); for Track it is
// the same as WithTimeout.
func Settle(d time.Duration) Option {
	return Option{Option: goleakNoop(), settle: d}
}

// createdByOption is an opaque goleak.Option so that IgnoreCreatedBy can
// only be passed where it is honoured (VerifyNone, VerifyTestMain): Track
// reads the goroutine profile, which does not record creators.
type createdByOption struct {
	goleak.Option
	funcs []string
}

// IgnoreCreatedBy ignores goroutines started by a go statement in one of
// these fully qualified functions ("created by" in a dump), wherever they
// are parked now. goleak can only match functions on the goroutine's own
// stack (IgnoreTopFunction, IgnoreAnyFunction), which misses a library's
// workers that park in varying callees.
func IgnoreCreatedBy(fns ...string) goleak.Option {
	return createdByOption{Option: goleakNoop(), funcs: fns}
}

// goleakNoop is the goleak side of leaktest's options. goleak.Option's
// method is unexported, so leaktest's options embed one of goleak's; this
// one only ignores goroutines with no function on their stack, which no
// real goroutine has.
func goleakNoop() goleak.Option { return goleak.IgnoreTopFunction("") }

type verifyConfig struct {
	settle    time.Duration
	createdBy []string
}

func verifyConfigOf(opts []goleak.Option) verifyConfig {
	cfg := verifyConfig{settle: DefaultSettle}
	for _, o := range opts {
		switch o := o.(type) {
		case Option:
			cfg.settle = o.settle
		case createdByOption:
			cfg.createdBy = append(cfg.createdBy, o.funcs...)
		}
	}
	return cfg
}

// unexpected returns the goroutines still running once the settle budget
// is spent that neither goleak's options nor IgnoreCreatedBy excuse. Each
// pass is one goleak.Find, which itself retries with backoff. The error is
// goleak's, returned only if its report cannot be read (format changed).
func unexpected(opts []goleak.Option) ([]stackdump.Goroutine, error) {
	cfg := verifyConfigOf(opts)
	deadline := time.Now().Add(cfg.settle)
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return nil, nil
		}
		var left []stackdump.Goroutine
		ids := goroutineIDs(err.Error())
		if ids != nil {
			left = stillRunning(ids, cfg.createdBy)
			if len(left) == 0 {
				return nil, nil
			}
		}
		if !time.Now().Before(deadline) {
			if ids == nil {
				return nil, err
			}
			return left, nil
		}
	}
}

// stillRunning returns the goroutines among ids that are still running
// and not created by any of createdBy.
func stillRunning(ids map[int64]bool, createdBy []string) []stackdump.Goroutine {
	// IDs are only in a full dump; a test can afford its pause.
	gs, err := stackdump.ParseBytes(capture.Full())
	if err != nil {
		return nil
	}
	var left []stackdump.Goroutine
	for _, g := range gs {
		if ids[g.ID] && !createdIn(g, createdBy) {
			left = append(left, g)
		}
	}
	return left
}

func createdIn(g stackdump.Goroutine, fns []string) bool {
	if g.CreatedBy == nil {
		return false
	}
	for _, fn := range fns {
		if g.CreatedBy.Func == fn {
			return true
		}
	}
	return false
}

// verifyTestMain is VerifyTestMain with its exits and output injectable.
func verifyTestMain(m goleak.TestingM, exit func(int), stderr io.Writer, opts []goleak.Option) {
	code := m.Run()
	if code == 0 {
		if msg := leakReport(opts); msg != "" {
			fmt.Fprintf(stderr, "leaktest: errors on successful test run: %s\n", msg)
			code = 1
		}
	}
	exit(code)
}

// leakReport runs the settle loop and formats what is left, with the
// runtime's proof where it has one; "" if nothing is left.
func leakReport(opts []goleak.Option) string {
	left, err := unexpected(opts)
	if err != nil {
		return err.Error()
	}
	if len(left) == 0 {
		return ""
	}
	var b strings.Builder
	ids := map[int64]bool{}
	fmt.Fprintf(&b, "found %d unexpected goroutine(s):\n", len(left))
	for _, g := range left {
		ids[g.ID] = true
		writeGoroutine(&b, g, "")
	}
	if proven := provenLeaks(ids); proven != "" {
		b.WriteString("\n" + proven)
	}
	return b.String()
}

func writeGoroutine(b *strings.Builder, g stackdump.Goroutine, marker string) {
	fmt.Fprintf(b, "\ngoroutine %d [%s%s]:\n", g.ID, g.State, marker)
	writeFrames(b, g.Frames)
	if g.CreatedBy != nil {
		fmt.Fprintf(b, "created by %s\n\t%s\n", g.CreatedBy.Func, g.CreatedBy.Location())
	}
}
