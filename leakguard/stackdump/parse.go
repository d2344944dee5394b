package stackdump

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"time"
)

// Parse reads a goroutine dump. It is tolerant: lines that belong to no
// goroutine (a panic message, register dumps, "exit status 2") are skipped,
// and it fails only when r does. A goroutine profile in protocol-buffer
// form (what pprof serves without a debug parameter, and so what curl
// saves) is read as ParseBytes reads it.
//
// Parse streams a text dump: it holds one line at a time plus the parsed
// goroutines, so a dump of hundreds of megabytes need not fit in memory as
// text. A profile is read whole; it is compact (one record a stack).
func Parse(r io.Reader) ([]Goroutine, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(2); IsProto(head) {
		b, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		return ParseBytes(b)
	}
	p := newParser(0)
	var long []byte // a line longer than br's buffer, reassembled
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if len(long) > 0 {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > 0 {
			p.line(trimEOL(line))
		}
		long = long[:0]
		if err == io.EOF {
			return p.finish(), nil
		}
		if err != nil {
			return p.finish(), err
		}
	}
}

// ParseBytes parses a dump held in memory, without copying it line by
// line. A goroutine profile in protocol-buffer form (what pprof serves
// without a debug parameter) is read too, as ProtoDump renders it.
func ParseBytes(b []byte) ([]Goroutine, error) {
	p, err := parseBytes(b, true)
	if err != nil {
		return nil, err
	}
	return p.finish(), nil
}

// ParseGroups parses a dump and groups it, as GroupGoroutines(ParseBytes(b))
// does, and returns how many goroutines it holds. It does not expand a
// "# count: N" goroutine of a dump rendered from a goroutine profile into
// N, so on such a dump it allocates for the distinct stacks only (ParseBytes
// ~150 bytes a goroutine).
func ParseGroups(b []byte) (groups []Group, goroutines int, err error) {
	p, err := parseBytes(b, false)
	if err != nil {
		return nil, 0, err
	}
	gs := p.finish()
	for _, n := range p.counts {
		goroutines += n
	}
	return groupCounted(gs, p.counts), goroutines, nil
}

func parseBytes(b []byte, expand bool) (*parser, error) {
	if IsProto(b) {
		text, err := ProtoDump(b)
		if err != nil {
			return nil, err
		}
		b = text
	}
	hint := bytes.Count(b, []byte("\ngoroutine ")) + 1
	p := newParser(hint)
	if !expand {
		p.counts = make([]int, 0, hint)
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		p.line(trimEOL(line))
	}
	return p, nil
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// parser is a line-driven state machine. A function line is only trusted
// once the tab-indented file line that the runtime always prints after it
// arrives, which is what lets junk lines inside a dump pass harmlessly.
type parser struct {
	out []Goroutine
	cur *Goroutine // nil between goroutines
	// curRepeat is how many goroutines cur stands for (0: one).
	curRepeat int
	// counts, if not nil, holds how many goroutines each of out stands
	// for, and counted goroutines are not copied into out.
	counts []int

	// ancestor is set inside a GODEBUG=tracebackancestors section, whose
	// frames belong to a goroutine that no longer exists.
	ancestor bool

	// repeat is how many goroutines the next header stands for, from a
	// "# count: N" line before it; 0 means one.
	repeat int

	pending        string // function awaiting its file line
	pendingCreator bool   // pending came from "created by"
	hasPending     bool

	frames     []Frame // scratch for cur's frames
	creator    Frame
	hasCreator bool

	// slab backs the Frames (and CreatedBy) of many goroutines, because
	// one allocation per goroutine dominates the cost on large dumps.
	slab []Frame
	// intern makes every repeated function name, file and state share one
	// string: a dump repeats a handful of them thousands of times.
	intern map[string]string
}

func newParser(sizeHint int) *parser {
	return &parser{
		out:    make([]Goroutine, 0, sizeHint),
		intern: make(map[string]string),
	}
}

func (p *parser) str(b []byte) string {
	if s, ok := p.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	p.intern[s] = s
	return s
}

func (p *parser) finish() []Goroutine {
	p.endGoroutine()
	return p.out
}

func (p *parser) line(l []byte) {
	repeat := p.repeat // applies only to a header right after it
	p.repeat = 0
	if bytes.HasPrefix(l, []byte("goroutine ")) {
		if g, ok := p.header(l); ok {
			p.endGoroutine()
			p.out = append(p.out, g)
			p.cur = &p.out[len(p.out)-1]
			p.curRepeat = repeat
			if p.counts != nil {
				p.counts = append(p.counts, max(repeat, 1))
				p.curRepeat = 0
			}
			return
		}
	}
	if p.cur == nil || p.ancestor {
		if n, ok := countLine(l); ok && p.cur == nil {
			p.repeat = n
		}
		return
	}
	if len(l) > 0 && (l[0] == '\t' || l[0] == ' ') {
		p.fileLine(l)
		return
	}
	p.hasPending = false // a function line not followed by its file: junk
	switch {
	case len(l) == 0:
		p.endGoroutine()
	case bytes.HasPrefix(l, []byte("created by ")):
		p.createdBy(l[len("created by "):])
	case bytes.HasPrefix(l, []byte("...")) && bytes.HasSuffix(l, []byte("elided...")):
		// Both "...additional frames elided..." and the newer
		// "...N frames elided..." that sits between inner and outer frames.
		p.cur.Elided = true
	case bytes.HasPrefix(l, []byte("[originating from goroutine ")):
		p.ancestor = true
	default:
		if fn, ok := stripArgs(l); ok {
			p.pending, p.pendingCreator, p.hasPending = p.str(fn), false, true
		}
	}
}

func (p *parser) createdBy(l []byte) {
	fn := l
	if i := bytes.Index(l, []byte(" in goroutine ")); i >= 0 {
		fn = l[:i]
		if id, err := strconv.ParseInt(string(l[i+len(" in goroutine "):]), 10, 64); err == nil {
			p.cur.CreatorID = id
		}
	}
	p.pending, p.pendingCreator, p.hasPending = p.str(fn), true, true
}

func (p *parser) fileLine(l []byte) {
	if !p.hasPending {
		return // e.g. "\tgoroutine running on other thread; stack unavailable"
	}
	p.hasPending = false
	f := Frame{Func: p.pending}
	f.File, f.Line = p.location(bytes.TrimLeft(l, "\t "))
	if p.pendingCreator {
		p.creator, p.hasCreator = f, true
		return
	}
	p.frames = append(p.frames, f)
}

// location splits "/path/file.go:123 +0x1d". The offset is absent for
// inlined frames, and GOTRACEBACK=system appends " fp=… sp=… pc=…", so
// only the digits right after the last colon count.
func (p *parser) location(l []byte) (string, int) {
	if i := bytes.Index(l, []byte(" +0x")); i >= 0 {
		l = l[:i]
	}
	i := bytes.LastIndexByte(l, ':')
	if i < 0 {
		return p.str(l), 0
	}
	n, j := 0, i+1
	for ; j < len(l) && l[j] >= '0' && l[j] <= '9' && n < 1<<30; j++ {
		n = n*10 + int(l[j]-'0')
	}
	if j == i+1 {
		return p.str(l), 0
	}
	return p.str(l[:i]), n
}

func (p *parser) endGoroutine() {
	if p.cur == nil {
		return
	}
	n := len(p.frames)
	if p.hasCreator {
		n++
	}
	if n > 0 {
		s := p.alloc(n)
		copy(s, p.frames)
		p.cur.Frames = s[:len(p.frames):len(p.frames)]
		if len(p.frames) == 0 {
			p.cur.Frames = nil
		}
		if p.hasCreator {
			s[n-1] = p.creator
			p.cur.CreatedBy = &s[n-1]
		}
	}
	// The copies share cur's frames and labels, as identical goroutines of
	// a runtime.Stack dump share interned strings.
	if p.curRepeat > 1 {
		g := *p.cur
		p.out = slices.Grow(p.out, p.curRepeat-1)
		for range p.curRepeat - 1 {
			p.out = append(p.out, g)
		}
	}
	p.cur, p.ancestor, p.hasPending, p.hasCreator = nil, false, false, false
	p.curRepeat = 0
	p.frames = p.frames[:0]
}

// maxRepeat bounds a "# count:" line, so a corrupt one cannot make the
// parser allocate without limit. No process holds that many goroutines.
const maxRepeat = 1 << 22

// countLine reads "# count: N", which package capture writes before a goroutine
// that stands for N identical ones when it renders the goroutine profile.
func countLine(l []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(l, []byte("# count: "))
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest))
	if err != nil || n < 1 || n > maxRepeat {
		return 0, false
	}
	return n, true
}

func (p *parser) alloc(n int) []Frame {
	if len(p.slab)+n > cap(p.slab) {
		p.slab = make([]Frame, 0, max(4096, n))
	}
	start := len(p.slab)
	p.slab = p.slab[:start+n]
	return p.slab[start : start+n : start+n]
}

// stripArgs turns "pkg.(*T).M[...](0xc0000, {0x1, 0x2})" into
// "pkg.(*T).M[...]". The argument list is the last balanced parenthesis
// group; function names may contain parentheses of their own.
func stripArgs(l []byte) ([]byte, bool) {
	if len(l) < 3 || l[len(l)-1] != ')' {
		return nil, false
	}
	depth := 0
	for i := len(l) - 1; i > 0; i-- {
		switch l[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return l[:i], true
			}
		}
	}
	return nil, false
}

// header parses "goroutine 18 [chan receive, 12 minutes]:" and its variants:
// "gp=… m=…" before the bracket (GOTRACEBACK=system and crashes), the
// "(leaked)" and "(scan)" markers, "locked to thread", Go 1.26's
// " labels:{…}" inside the bracket (GODEBUG=tracebacklabels=1) and Go 1.27's
// " {…}" after it.
func (p *parser) header(l []byte) (Goroutine, bool) {
	var g Goroutine
	rest := l[len("goroutine "):]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	id, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return g, false
	}
	g.ID = id
	open := bytes.IndexByte(rest[i:], '[')
	if open < 0 {
		return g, false
	}
	rest = rest[i+open+1:]
	end := bytes.IndexByte(rest, ']')
	if lb := bytes.Index(rest, []byte(" labels:{")); lb >= 0 && (end < 0 || lb < end) {
		labels, n, ok := parseLabels(rest[lb+len(" labels:"):])
		if !ok {
			return g, false
		}
		g.Labels = labels
		p.status(&g, rest[:lb])
		rest = rest[lb+len(" labels:")+n:]
		end = bytes.IndexByte(rest, ']')
		if end < 0 {
			return g, false
		}
	} else if end < 0 {
		return g, false
	} else {
		p.status(&g, rest[:end])
	}
	rest = bytes.TrimLeft(rest[end+1:], " ")
	if len(rest) > 0 && rest[0] == '{' {
		labels, n, ok := parseLabels(rest)
		if !ok {
			return g, false
		}
		g.Labels = labels
		rest = rest[n:]
	}
	return g, bytes.Equal(rest, []byte(":"))
}

// status fills State, Leaked, Wait and LockedToThread from
// "chan receive (leaked), 12 minutes, locked to thread".
func (p *parser) status(g *Goroutine, s []byte) {
	state, more, _ := bytes.Cut(s, []byte(", "))
	state, g.Leaked = cutMarker(state, " (leaked)")
	state, _ = cutMarker(state, " (scan)") // a GC artefact, not a state
	g.State = p.str(state)
	for len(more) > 0 {
		var part []byte
		part, more, _ = bytes.Cut(more, []byte(", "))
		switch {
		case bytes.Equal(part, []byte("locked to thread")):
			g.LockedToThread = true
		case bytes.HasSuffix(part, []byte(" minutes")):
			if n, err := strconv.Atoi(string(part[:len(part)-len(" minutes")])); err == nil {
				g.Wait = time.Duration(n) * time.Minute
			}
		}
	}
}

func cutMarker(s []byte, marker string) ([]byte, bool) {
	i := bytes.Index(s, []byte(marker))
	if i < 0 {
		return s, false
	}
	return append(s[:i:i], s[i+len(marker):]...), true
}

// parseLabels parses a label set starting at '{' and returns it with the
// number of bytes consumed. Keys and values are Go-quoted when they hold
// anything beyond [A-Za-z0-9./_] (Go 1.27) or always (Go 1.26).
func parseLabels(b []byte) (map[string]string, int, bool) {
	if len(b) == 0 || b[0] != '{' {
		return nil, 0, false
	}
	labels := make(map[string]string)
	i := 1
	for {
		i = skipSpaces(b, i)
		if i < len(b) && b[i] == '}' {
			if len(labels) == 0 {
				labels = nil
			}
			return labels, i + 1, true
		}
		key, n, ok := labelToken(b[i:], ":")
		if !ok {
			return nil, 0, false
		}
		i = skipSpaces(b, i+n)
		if i >= len(b) || b[i] != ':' {
			return nil, 0, false
		}
		i = skipSpaces(b, i+1)
		val, n, ok := labelToken(b[i:], ",}")
		if !ok {
			return nil, 0, false
		}
		labels[key] = val
		i = skipSpaces(b, i+n)
		if i < len(b) && b[i] == ',' {
			i++
		}
	}
}

func skipSpaces(b []byte, i int) int {
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return i
}

// labelToken reads one quoted or bare key or value.
func labelToken(b []byte, stops string) (string, int, bool) {
	if len(b) == 0 {
		return "", 0, false
	}
	if b[0] != '"' {
		n := bytes.IndexAny(b, stops)
		if n <= 0 {
			return "", 0, false
		}
		return string(bytes.TrimRight(b[:n], " ")), n, true
	}
	for j := 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			s, err := strconv.Unquote(string(b[:j+1]))
			if err != nil {
				// Keep what the runtime printed rather than drop the label.
				s = string(b[1:j])
			}
			return s, j + 1, true
		}
	}
	return "", 0, false
}
