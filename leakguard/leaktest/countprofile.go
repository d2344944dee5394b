package leaktest

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

type countRecord struct {
	count  int
	labels map[string]string
	frames []stackdump.Frame
}

// parseCountProfile reads runtime/pprof's legacy text form (debug=1):
//
//	goroutine profile: total 7
//	2 @ 0x47e08e 0x4158ee
//	# labels: {"leaktest.test":"TestX"}
//	#	0x4da318	main.worker+0x18	/src/main.go:6
func parseCountProfile(b []byte) []countRecord {
	var (
		out []countRecord
		cur *countRecord
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			cur = nil
		case strings.HasPrefix(line, "# labels: "):
			if cur != nil {
				cur.labels = parseLabels(strings.TrimPrefix(line, "# labels: "))
			}
		case strings.HasPrefix(line, "#\t"):
			if cur == nil {
				continue
			}
			// "#\t0xpc\tfunc+0xoff\tfile:line"
			fields := strings.Split(line, "\t")
			if len(fields) < 4 {
				continue
			}
			fn := fields[2]
			if i := strings.LastIndex(fn, "+0x"); i >= 0 {
				fn = fn[:i]
			}
			file, lineNo := fields[3], 0
			if i := strings.LastIndex(file, ":"); i >= 0 {
				lineNo, _ = strconv.Atoi(file[i+1:])
				file = file[:i]
			}
			cur.frames = append(cur.frames, stackdump.Frame{Func: fn, File: file, Line: lineNo})
		default:
			count, _, ok := strings.Cut(line, " @")
			n, err := strconv.Atoi(count)
			if !ok || err != nil {
				continue
			}
			out = append(out, countRecord{count: n})
			cur = &out[len(out)-1]
		}
	}
	return out
}

// parseLabels reads {"k":"v", "k2":"v2"}, written with %q.
func parseLabels(s string) map[string]string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	m := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, ", ")
		k, err := strconv.QuotedPrefix(s)
		if err != nil {
			return m
		}
		s = strings.TrimPrefix(s[len(k):], ":")
		v, err := strconv.QuotedPrefix(s)
		if err != nil {
			return m
		}
		s = s[len(v):]
		uk, _ := strconv.Unquote(k)
		uv, _ := strconv.Unquote(v)
		m[uk] = uv
	}
	return m
}
