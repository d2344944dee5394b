package profiletext

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// FromProto renders a goroutine profile in pprof's protocol-buffer form,
// what /debug/pprof/goroutine answers without a debug parameter, as a dump
// stackdump.ParseBytes reads. That form is collected concurrently by any Go process
// (no stop of the world beyond a moment) and, unlike the debug=1 text,
// names every frame, runtime ones included, so each goroutine's state
// comes out as in capture.Within's concurrent dumps: without goroutine IDs,
// wait times or creators. A "goroutineleak" profile's goroutines carry the
// "(leaked)" marker. The input may be gzipped, as pprof serves it.
func FromProto(b []byte) ([]byte, error) {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("goroutine profile: %w", err)
		}
		if b, err = io.ReadAll(io.LimitReader(zr, maxProtoBytes+1)); err != nil {
			return nil, fmt.Errorf("goroutine profile: %w", err)
		}
		if len(b) > maxProtoBytes {
			return nil, fmt.Errorf("goroutine profile: over %d bytes decompressed", maxProtoBytes)
		}
	}
	p, err := decodeProfile(b)
	if err != nil {
		return nil, fmt.Errorf("goroutine profile: %w", err)
	}
	marker := ""
	if p.leak {
		marker = " (leaked)"
	}
	var out []byte
	var frames []runtime.Frame
	for _, s := range p.samples {
		frames = frames[:0]
		for _, id := range s.locations {
			frames = append(frames, p.locations[id]...)
		}
		// The creators this process learned say nothing of another's.
		out = AppendGoroutine(out, Record{Count: s.count, Labels: s.labels}, frames, marker, nil)
	}
	return out, nil
}

// maxProtoBytes bounds a decompressed profile: far above a million
// goroutines' worth, far below what would exhaust memory.
const maxProtoBytes = 1 << 30

type protoProfile struct {
	strings   []string
	functions map[uint64]protoFunction
	locations map[uint64][]runtime.Frame
	samples   []protoSample
	leak      bool
}

type protoFunction struct{ name, file int64 }

type protoSample struct {
	locations []uint64
	count     int
	labels    []byte
}

var errBadProto = errors.New("not a goroutine profile in protocol-buffer form")

// decodeProfile reads the parts of profile.proto a goroutine profile
// uses: samples (location ids, count, string labels), locations (lines of
// functions, innermost first), functions and the string table.
func decodeProfile(b []byte) (*protoProfile, error) {
	p := &protoProfile{functions: map[uint64]protoFunction{}, locations: map[uint64][]runtime.Frame{}}
	type rawLocation struct {
		id    uint64
		lines [][2]uint64 // function id, line
	}
	var rawSamples [][]byte
	var locs []rawLocation
	var sampleTypes [][]byte
	err := eachField(b, func(num protowire.Number, v uint64, msg []byte) error {
		switch num {
		case 1: // sample_type
			sampleTypes = append(sampleTypes, msg)
		case 2:
			rawSamples = append(rawSamples, msg)
		case 4:
			var l rawLocation
			err := eachField(msg, func(num protowire.Number, v uint64, m []byte) error {
				switch num {
				case 1:
					l.id = v
				case 4:
					var fn, line uint64
					err := eachField(m, func(num protowire.Number, v uint64, _ []byte) error {
						switch num {
						case 1:
							fn = v
						case 2:
							line = v
						}
						return nil
					})
					l.lines = append(l.lines, [2]uint64{fn, line})
					return err
				}
				return nil
			})
			locs = append(locs, l)
			return err
		case 5:
			var id uint64
			var f protoFunction
			err := eachField(msg, func(num protowire.Number, v uint64, _ []byte) error {
				switch num {
				case 1:
					id = v
				case 2:
					f.name = int64(v)
				case 4:
					f.file = int64(v)
				}
				return nil
			})
			p.functions[id] = f
			return err
		case 6:
			p.strings = append(p.strings, string(msg))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(p.strings) == 0 || len(sampleTypes) == 0 {
		return nil, errBadProto
	}
	for _, st := range sampleTypes {
		eachField(st, func(num protowire.Number, v uint64, _ []byte) error {
			if num == 1 && p.str(int64(v)) == "goroutineleak" {
				p.leak = true
			}
			return nil
		})
	}
	for _, l := range locs {
		frames := make([]runtime.Frame, 0, len(l.lines))
		for _, ln := range l.lines {
			f := p.functions[ln[0]]
			frames = append(frames, runtime.Frame{Function: elideTypeArgs(p.str(f.name)), File: p.str(f.file), Line: int(ln[1])})
		}
		p.locations[l.id] = frames
	}
	for _, raw := range rawSamples {
		s, err := p.sample(raw)
		if err != nil {
			return nil, err
		}
		p.samples = append(p.samples, s)
	}
	return p, nil
}

func (p *protoProfile) sample(raw []byte) (protoSample, error) {
	var s protoSample
	labels := map[string]string{}
	err := eachField(raw, func(num protowire.Number, v uint64, msg []byte) error {
		switch num {
		case 1:
			s.locations = append(s.locations, v)
		case 2:
			s.count = int(v)
		case 3:
			var key, str int64
			err := eachField(msg, func(num protowire.Number, v uint64, _ []byte) error {
				switch num {
				case 1:
					key = int64(v)
				case 2:
					str = int64(v)
				}
				return nil
			})
			if k := p.str(key); k != "" && str != 0 {
				labels[k] = p.str(str)
			}
			return err
		}
		return nil
	}, 1, 2)
	if len(labels) > 0 {
		s.labels = profileLabels(labels)
	}
	return s, err
}

// profileLabels writes labels as the debug=1 profile does: {"k":"v", …},
// sorted by key.
func profileLabels(labels map[string]string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(k) + ":" + strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return []byte(b.String())
}

// elideTypeArgs writes a generic function's type arguments as tracebacks
// do, "[...]": the profile names its shape ("f[go.shape.int]"), which
// would set its goroutines apart from the same ones in a full dump.
func elideTypeArgs(name string) string {
	if !strings.Contains(name, "[") {
		return name
	}
	var b strings.Builder
	depth := 0
	for _, r := range name {
		switch {
		case r == '[':
			if depth == 0 {
				b.WriteString("[...]")
			}
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (p *protoProfile) str(i int64) string {
	if i < 0 || i >= int64(len(p.strings)) {
		return ""
	}
	return p.strings[i]
}

// eachField calls fn for each field of a message: varints with their
// value, length-delimited fields with their bytes, and the elements of
// the packed fields one call each.
func eachField(b []byte, fn func(num protowire.Number, v uint64, msg []byte) error, packed ...protowire.Number) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errBadProto
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return errBadProto
			}
			b = b[n:]
			if err := fn(num, v, nil); err != nil {
				return err
			}
		case protowire.BytesType:
			msg, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errBadProto
			}
			b = b[n:]
			// Repeated numbers (a sample's location ids and values) come
			// packed; the callers of those fields want each element.
			if slices.Contains(packed, num) {
				for len(msg) > 0 {
					v, n := protowire.ConsumeVarint(msg)
					if n < 0 {
						return errBadProto
					}
					msg = msg[n:]
					if err := fn(num, v, nil); err != nil {
						return err
					}
				}
				continue
			}
			if err := fn(num, 0, msg); err != nil {
				return err
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errBadProto
			}
			b = b[n:]
		}
	}
	return nil
}
