package capture

import (
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// Creators learned from full dumps: a stack (its shown frames) maps to
// the go statement that started every goroutine seen with it. A stack seen
// started from two places is ambiguous and gets no creator, since the
// profile cannot tell which of its goroutines came from where.
var creators struct {
	sync.Mutex
	byStack map[string]creatorSeen
}

type creatorSeen struct {
	frame     stackdump.Frame
	ambiguous bool
	at        time.Time // the last full dump that saw the stack
}

// learnedUse counts the learned creators a concurrent dump names.
type learnedUse struct {
	stacks int       // distinct stacks given one
	since  time.Time // the oldest full dump they come from
}

func (u *learnedUse) add(at time.Time) {
	u.stacks++
	if u.since.IsZero() || at.Before(u.since) {
		u.since = at
	}
}

// creator is a profiletext.CreatorFunc that names the creator full dumps
// taught for a stack and counts it in u.
func (u *learnedUse) creator(shown []runtime.Frame) (runtime.Frame, bool) {
	c, at, ok := knownCreator(shown)
	if !ok {
		return runtime.Frame{}, false
	}
	u.add(at)
	return runtime.Frame{Function: c.Func, File: c.File, Line: c.Line}, true
}

// maxCreatorStacks bounds the memory the creators of distinct stacks take;
// stacks beyond it are not remembered.
const maxCreatorStacks = 1 << 14

func learnCreators(dump []byte, at time.Time) {
	gs, _ := stackdump.ParseBytes(dump)
	creators.Lock()
	defer creators.Unlock()
	if creators.byStack == nil {
		creators.byStack = make(map[string]creatorSeen)
	}
	var key []byte
	for i := range gs {
		g := &gs[i]
		if g.CreatedBy == nil {
			continue
		}
		key = stackKey(key[:0], g.Frames)
		seen, ok := creators.byStack[string(key)]
		switch {
		case !ok && len(creators.byStack) < maxCreatorStacks:
			creators.byStack[string(key)] = creatorSeen{frame: *g.CreatedBy, at: at}
		case ok && !seen.ambiguous && seen.frame != *g.CreatedBy:
			creators.byStack[string(key)] = creatorSeen{ambiguous: true}
		case ok && !seen.ambiguous:
			seen.at = at
			creators.byStack[string(key)] = seen
		}
	}
}

func knownCreator(shown []runtime.Frame) (stackdump.Frame, time.Time, bool) {
	fs := make([]stackdump.Frame, len(shown))
	for i, f := range shown {
		fs[i] = stackdump.Frame{Func: f.Function, File: f.File, Line: f.Line}
	}
	key := stackKey(nil, fs)
	creators.Lock()
	defer creators.Unlock()
	seen, ok := creators.byStack[string(key)]
	return seen.frame, seen.at, ok && !seen.ambiguous
}

func stackKey(dst []byte, frames []stackdump.Frame) []byte {
	for _, f := range frames {
		dst = append(dst, f.Func...)
		dst = append(dst, 0)
		dst = append(dst, f.File...)
		dst = append(dst, 0)
		dst = strconv.AppendInt(dst, int64(f.Line), 10)
		dst = append(dst, '\n')
	}
	return dst
}
