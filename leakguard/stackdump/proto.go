package stackdump

import "github.com/trialwatch/trialwatch/leakguard/stackdump/internal/profiletext"

// ProtoDump renders a goroutine profile in pprof's protocol-buffer form,
// what /debug/pprof/goroutine answers without a debug parameter, as a dump
// ParseBytes reads. That form is collected concurrently by any Go process
// (no stop of the world beyond a moment) and, unlike the debug=1 text,
// names every frame, runtime ones included, so each goroutine's state
// comes out as in capture.Within's concurrent dumps: without goroutine IDs,
// wait times or creators. A "goroutineleak" profile's goroutines carry the
// "(leaked)" marker. The input may be gzipped, as pprof serves it.
func ProtoDump(b []byte) ([]byte, error) { return profiletext.FromProto(b) }

// IsProto reports whether b looks like a protocol-buffer profile (gzipped
// as pprof serves it) rather than a text dump.
func IsProto(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }
