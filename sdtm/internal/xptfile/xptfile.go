// Package xptfile decodes SAS XPORT version 5 transport files (SAS technical
// note TS-140) for package sdtm, one observation at a time: IBM System/360
// floating point, SAS's missing values and Latin-1 character variables.
package xptfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// New reads member of the XPT file r (the first member when member is
// ""), which errors call file, within the bounds l.
func New(file string, r io.Reader, member string, l source.Bounds) *Records {
	return &Records{file: file, r: bufio.NewReaderSize(r, 64<<10), member: member, limits: l}
}

// Headers of the 80-byte records that frame a v5 transport file.
// The header records of a transport file, and the size of its records;
// tests write files with them.
const (
	LibraryHeader    = "HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
	MemberHeader     = "HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
	DescriptorHeader = "HEADER RECORD*******DSCRPTR HEADER RECORD!!!!!!!"
	NamestrHeader    = "HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
	ObsHeader        = "HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
	RecordSize       = 80
)

type xptVar struct {
	name    string
	numeric bool
	pos     int
	len     int
}

// Records is an XPT member's observations (source.Records).
type Records struct {
	file   string
	r      *bufio.Reader
	member string
	// limits bound the observation buffer (Record) and a character
	// variable (Value) whatever a header claims. SAS v5 character
	// variables are at most 200 bytes and numbers 8, so SDTM observations
	// are a few kilobytes.
	limits source.Bounds
	name   string // of the member being read
	vars   []xptVar
	obs    []byte
	off    int // bytes of observation data read, padding included
	n      int // observations read
	cells  []source.Cell
	rec    [RecordSize]byte
}

func (x *Records) fail(format string, args ...any) *source.Error {
	return &source.Error{File: x.file, Msg: fmt.Sprintf(format, args...)}
}

// record reads the next 80-byte header record; what names it for errors.
func (x *Records) record(what string) ([]byte, error) {
	if _, err := io.ReadFull(x.r, x.rec[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, x.fail("file ends where the %s was expected: not a complete SAS XPORT file", what)
		}
		return nil, x.fail("%v", err)
	}
	return x.rec[:], nil
}

func (x *Records) header(prefix, what string) ([]byte, error) {
	rec, err := x.record(what)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(rec, []byte(prefix)) {
		return nil, x.fail("want the %s, found %q", what, printable(rec[:48]))
	}
	return rec, nil
}

func (x *Records) Columns() ([]string, error) {
	if _, err := x.r.Peek(1); err != nil {
		return nil, x.fail("empty file: want a SAS XPORT library header")
	}
	rec, err := x.record("library header")
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(rec, []byte(LibraryHeader)) {
		if bytes.HasPrefix(rec, []byte("HEADER RECORD*******LIBV8")) {
			return nil, x.fail("is SAS XPORT version 8 or 9; trialwatch reads version 5, the one FDA and PMDA require")
		}
		return nil, x.fail("not a SAS XPORT file: no library header")
	}
	// The two records after it say which SAS made the file, and when.
	for range 2 {
		if _, err := x.record("library header"); err != nil {
			return nil, err
		}
	}
	rec, err = x.header(MemberHeader, "member header")
	if err != nil {
		return nil, err
	}
	var members []string
	for {
		if err := x.readMember(rec); err != nil {
			return nil, err
		}
		members = append(members, x.name)
		if x.member == "" || strings.EqualFold(x.name, x.member) {
			names := make([]string, len(x.vars))
			for i, v := range x.vars {
				names[i] = v.name
			}
			x.cells = make([]source.Cell, len(x.vars))
			return names, nil
		}
		if rec, err = x.skipMember(); err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, x.fail("has no member %q (it has %s)", x.member, strings.Join(members, ", "))
		}
	}
}

// readMember reads a member's headers, up to its first observation.
func (x *Records) readMember(rec []byte) error {
	size, err := strconv.Atoi(string(rec[74:78]))
	if err != nil || (size != 140 && size != 136) {
		return x.fail("member header gives a variable descriptor size of %q, want 140 (or 136 on VAX/VMS)", printable(rec[74:78]))
	}
	if _, err := x.header(DescriptorHeader, "member descriptor header"); err != nil {
		return err
	}
	if rec, err = x.record("member descriptor"); err != nil {
		return err
	}
	x.name = strings.TrimSpace(string(rec[8:16]))
	if _, err := x.record("member descriptor"); err != nil {
		return err
	}
	if rec, err = x.header(NamestrHeader, "variable descriptor header"); err != nil {
		return err
	}
	nvar, err := strconv.Atoi(strings.TrimSpace(string(rec[54:58])))
	if err != nil || nvar < 1 {
		return x.fail("member %s has %q variables, want a count of at least 1", x.name, printable(rec[54:58]))
	}
	x.vars = x.vars[:0]
	obsLen := 0
	var ns [140]byte
	for i := range nvar {
		if _, err := io.ReadFull(x.r, ns[:size]); err != nil {
			return x.fail("file ends in the descriptor of variable %d of member %s", i+1, x.name)
		}
		v, err := x.variable(ns[:size])
		if err != nil {
			return err
		}
		x.vars = append(x.vars, v)
		obsLen = max(obsLen, v.pos+v.len)
	}
	if pad := (RecordSize - nvar*size%RecordSize) % RecordSize; pad > 0 {
		if _, err := x.r.Discard(pad); err != nil {
			return x.fail("file ends in the variable descriptors of member %s", x.name)
		}
	}
	if _, err := x.header(ObsHeader, "observation header"); err != nil {
		return err
	}
	if cap(x.obs) < obsLen {
		x.obs = make([]byte, obsLen)
	}
	x.obs = x.obs[:obsLen]
	x.off, x.n = 0, 0
	return nil
}

// variable reads one NAMESTR: the big-endian type, length, name and
// position fields are at the same offsets in the 140- and 136-byte layouts.
func (x *Records) variable(ns []byte) (xptVar, error) {
	v := xptVar{
		numeric: binary.BigEndian.Uint16(ns[0:2]) == 1,
		len:     int(binary.BigEndian.Uint16(ns[4:6])),
		name:    strings.TrimSpace(string(bytes.TrimRight(ns[8:16], "\x00"))),
		pos:     int(binary.BigEndian.Uint32(ns[84:88])),
	}
	typ := binary.BigEndian.Uint16(ns[0:2])
	switch {
	case typ != 1 && typ != 2:
		return v, x.fail("variable %q of member %s has type %d, want 1 (numeric) or 2 (character)", printable(ns[8:16]), x.name, typ)
	case v.numeric && (v.len < 2 || v.len > 8):
		return v, x.fail("numeric variable %s of member %s is %d bytes long, want 2 to 8", v.name, x.name, v.len)
	case v.len < 1 || v.pos < 0:
		return v, x.fail("variable %s of member %s lies at bytes %d to %d of an observation", v.name, x.name, v.pos, v.pos+v.len)
	case v.pos+v.len > x.limits.Record:
		return v, x.fail("variable %s of member %s lies at bytes %d to %d of an observation, longer than %s, the most a record may be", v.name, x.name, v.pos, v.pos+v.len, source.SizeText(int64(x.limits.Record)))
	case v.len > x.limits.Value:
		return v, x.fail("variable %s of member %s is %d bytes long: %s", v.name, x.name, v.len, source.ValueTooLong(x.limits))
	}
	return v, nil
}

// skipMember reads past the current member's observations and returns the
// next member's header, or nil at the end of the file.
func (x *Records) skipMember() ([]byte, error) {
	for {
		if _, err := io.ReadFull(x.r, x.rec[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, nil
			}
			return nil, x.fail("%v", err)
		}
		if bytes.HasPrefix(x.rec[:], []byte(MemberHeader)) {
			return x.rec[:], nil
		}
	}
}

// atEnd reports whether the member's observations are over: what remains
// of the current 80-byte record is blank padding, and the file or the
// member ends after it. Blank observations in the last record are thus
// taken for padding, as TS-140 leaves no other way to tell them apart.
func (x *Records) atEnd() bool {
	rem := (RecordSize - x.off%RecordSize) % RecordSize
	p, _ := x.r.Peek(rem + RecordSize)
	if !blank(p[:min(rem, len(p))]) {
		return false
	}
	return len(p) <= rem || bytes.HasPrefix(p[rem:], []byte(MemberHeader))
}

func (x *Records) Next() ([]source.Cell, source.Position, error) {
	if x.atEnd() {
		return nil, source.Position{}, io.EOF
	}
	x.n++
	pos := source.Position{Row: x.n}
	got, err := io.ReadFull(x.r, x.obs)
	x.off += got
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) && blank(x.obs[:got]):
		// Padding of a file whose last record was cut to its data.
		return nil, source.Position{}, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, pos, &source.Error{File: x.file, Row: x.n, Msg: fmt.Sprintf("file ends %d bytes into this %d-byte observation", got, len(x.obs))}
	case err != nil:
		return nil, pos, &source.Error{File: x.file, Row: x.n, Msg: err.Error()}
	}
	for i, v := range x.vars {
		b := x.obs[v.pos : v.pos+v.len]
		if v.numeric {
			if missingNumber(b) {
				x.cells[i] = source.Cell{}
			} else {
				x.cells[i] = source.Cell{Kind: source.Number, Num: ibmToFloat(b)}
			}
			continue
		}
		x.cells[i] = source.Cell{Kind: source.Text, Text: latin1(bytes.TrimRight(b, " \x00"))}
	}
	return x.cells, pos, nil
}

// ibmToFloat converts an IBM System/360 hexadecimal floating-point number,
// big-endian and 2 to 8 bytes long (shorter ones are truncated on the
// right), to IEEE 754: sign bit, 7-bit excess-64 power of 16, then a
// 56-bit fraction below 1. Every IBM value is within float64 range; the
// fraction is rounded to float64's 53 bits once, to nearest.
func ibmToFloat(b []byte) float64 {
	var buf [8]byte
	copy(buf[:], b)
	u := binary.BigEndian.Uint64(buf[:])
	frac := u & (1<<56 - 1)
	if frac == 0 {
		return 0
	}
	exp := int(u>>56) & 0x7f
	f := math.Ldexp(float64(frac), 4*(exp-64)-56)
	if u>>63 == 1 {
		return -f
	}
	return f
}

// missingNumber reports whether b is one of SAS's 28 missing values: ".",
// "_" or a letter, then zero bytes.
func missingNumber(b []byte) bool {
	c := b[0]
	if c != '.' && c != '_' && (c < 'A' || c > 'Z') {
		return false
	}
	for _, z := range b[1:] {
		if z != 0 {
			return false
		}
	}
	return true
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

// latin1 returns b as a string, read as ISO 8859-1 when it is not UTF-8:
// SAS sessions of the v5 era wrote Latin-1.
func latin1(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// printable shows header bytes in an error, binary or not.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, string(b))
}

// ToIBM is f in IBM System/360 floating point, the inverse of how the
// reader decodes numbers: tests write XPT files with it. An IBM fraction
// has 56 bits, so every float64 in IBM's range fits exactly.
func ToIBM(f float64) uint64 {
	if f == 0 {
		return 0
	}
	var sign uint64
	if f < 0 {
		sign, f = 1<<63, -f
	}
	m, e := math.Frexp(f) // f = m × 2^e, m in [0.5, 1)
	e16 := (e + 3) >> 2   // ⌈e/4⌉: f = F × 16^e16 with F in [1/16, 1)
	frac := uint64(math.Ldexp(m, 56+e-4*e16))
	return sign | uint64(e16+64)<<56 | frac
}
