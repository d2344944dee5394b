package watchdog

import (
	"math"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// DefaultBoundedGroups are the entry functions (prefixes) of goroutines
// that belong to pools: they grow with connections or work and shrink when
// idle, so their growth alone never confirms a leak. A group is matched by
// the function its goroutines started in (the outermost frame), wherever
// they are blocked. Pools not listed here are learned by behaviour: a
// group seen to shrink back while the service was healthy is bounded.
var DefaultBoundedGroups = []string{
	"net/http.(*conn).serve",               // server keep-alive connections
	"net/http.(*persistConn).readLoop",     // client connection pool
	"net/http.(*persistConn).writeLoop",    // client connection pool
	"net/http.(*http2ClientConn).readLoop", // client HTTP/2 connections
	"golang.org/x/net/http2.(*ClientConn).readLoop",
	"golang.org/x/net/http2.(*serverConn).serve",
	"database/sql.(*DB).connectionOpener",
	"database/sql.(*DB).connectionCleaner",
	"github.com/jackc/pgx/v5/pgxpool.",
	"github.com/jackc/pgx/v5/pgconn/ctxwatch.",
	"github.com/jackc/puddle/v2.",
	"google.golang.org/grpc/internal/transport.",
}

// site is where goroutines come from: the function they started in and
// the go statement that started them. It is coarser than a stack group on
// purpose: a pool's goroutines block in many places (reading, writing,
// idle) but come from one site, and its level is what tells a pool that
// shrinks from a leak that never does.
type site struct {
	entry   string // outermost frame: the function the goroutine started in
	creator string // location of the go statement, "" if unknown
}

func (s site) String() string {
	if s.creator == "" {
		return s.entry
	}
	return s.entry + " created at " + s.creator
}

// siteOf returns where a group's goroutines come from. Called with w.mu
// held.
//
// A capture from the concurrent goroutine profile knows a group's creator
// only if an earlier full dump saw its stack started by one go statement.
// An entry function seen without a creator is therefore tracked without
// creators from then on, in every capture, so that its sites keep their
// identity whichever way later captures are taken: otherwise a switch
// between full dumps and the profile would read as one site vanishing
// (a pool) and another appearing (growth).
func (w *Watchdog) siteOf(g stackdump.Group) site {
	s := site{entry: entryOf(g)}
	if g.Creator != nil && !w.coarse[s.entry] {
		s.creator = g.Creator.Location()
	}
	return s
}

func entryOf(g stackdump.Group) string {
	if n := len(g.Frames); n > 0 {
		return g.Frames[n-1].Func
	}
	return g.Top.Func
}

// siteCounts counts goroutines per site. Called with w.mu held.
func (w *Watchdog) siteCounts(groups []stackdump.Group) map[site]int {
	m := make(map[site]int)
	for _, g := range groups {
		m[w.siteOf(g)] += g.Count
	}
	return m
}

// coarsen starts tracking without creators the entry functions of the
// groups that have none, merging what was learned about their sites.
// Called with w.mu held.
func (w *Watchdog) coarsen(groups []stackdump.Group) {
	for _, g := range groups {
		if g.Creator != nil {
			continue
		}
		entry := entryOf(g)
		if w.coarse[entry] {
			continue
		}
		w.coarse[entry] = true
		w.mergeSites(entry)
	}
}

// mergeSites folds the history, episode and acknowledgements of every
// site of entry into its creator-less site. Sums over-estimate a merged
// level, so a merged leak is reported back down later rather than sooner.
func (w *Watchdog) mergeSites(entry string) {
	to := site{entry: entry}
	for s, h := range w.history {
		if s.entry != entry || s == to {
			continue
		}
		m := w.history[to]
		if m == nil {
			m = &siteHistory{}
			w.history[to] = m
		}
		m.peak += h.peak
		m.shrank = m.shrank || h.shrank
		delete(w.history, s)
	}
	for s, e := range w.episode {
		if s.entry != entry || s == to {
			continue
		}
		m := w.episode[to]
		if m == nil {
			m = &episodeSite{names: map[string]bool{}}
			w.episode[to] = m
		}
		m.level += e.level
		m.count += e.count
		for n := range e.names {
			m.names[n] = true
		}
		delete(w.episode, s)
	}
	for s, n := range w.acked {
		if s.entry != entry || s == to {
			continue
		}
		w.acked[to] += n
		delete(w.acked, s)
	}
}

// siteHistory is what the watchdog learned about one site while healthy.
type siteHistory struct {
	peak int
	// shrank is set once the site fell well below its peak: pools do
	// that when idle, leaked goroutines never end.
	shrank bool
}

// shrinkMargin is how far below its peak a site must fall to count as
// shrinking: a few goroutines of a leaking site finishing normally (the
// ones that were not stranded) must not make it a pool.
func shrinkMargin(peak int) int { return max(3, peak/4) }

// tolerance is how far above its healthy level a leaking site may stay and
// still count as back down: a leaked site's ordinary traffic keeps a few
// goroutines in flight.
func tolerance(level int) int { return max(2, int(math.Ceil(float64(level)/10))) }

// isBounded reports whether a site is a pool, by the configured list or by
// what it was seen doing.
func (w *Watchdog) isBounded(s site) bool {
	_, ok := w.poolLimit(s)
	return ok
}

// poolLimit returns up to how many goroutines a pool's growth is
// explained. A listed pool's is unlimited. A pool learned by behaviour
// explains growth up to twice the highest level it was seen at while
// healthy: a site whose goroutines usually come and go (a handler's helper
// goroutine) and then leak on one path must not be excused forever by
// having shrunk once.
func (w *Watchdog) poolLimit(s site) (limit int, ok bool) {
	for _, p := range w.cfg.bounded {
		if strings.HasPrefix(s.entry, p) {
			return math.MaxInt, true
		}
	}
	if h := w.history[s]; h != nil && h.shrank {
		return 2 * h.peak, true
	}
	return 0, false
}

// learn updates each site's peak and whether it shrank. Called with w.mu
// held, only from healthy captures, never while a leak episode is open: a leak
// that a person ended (by a release or a restart of a component) must not
// teach that its site is a pool.
func (w *Watchdog) learn(counts map[site]int) {
	for s, n := range counts {
		h := w.history[s]
		if h == nil {
			h = &siteHistory{}
			w.history[s] = h
		}
		h.peak = max(h.peak, n)
		if h.peak-n >= shrinkMargin(h.peak) {
			h.shrank = true
		}
	}
	for s, h := range w.history {
		if _, ok := counts[s]; !ok && h.peak >= shrinkMargin(h.peak) {
			h.shrank = true // vanished entirely
		}
	}
}

// episodeSite is one site of an open leak episode.
type episodeSite struct {
	level int // healthy level: the count in the last healthy capture
	count int // count in the latest capture
	// names are the functions and locations of its growing groups, which
	// is how a person names it to acknowledge it.
	names map[string]bool
}

func (e *episodeSite) above() int { return max(0, e.count-e.level) }

// withoutCoarseCreators returns groups with the creators of coarse entries
// dropped, so that a diff matches groups of one stack whether or not the
// capture knew their creator. Called with w.mu held.
func (w *Watchdog) withoutCoarseCreators(groups []stackdump.Group) []stackdump.Group {
	out := groups
	for i, g := range groups {
		if g.Creator == nil || !w.coarse[entryOf(g)] {
			continue
		}
		if &out[0] == &groups[0] {
			out = slices.Clone(groups)
		}
		// The creator is the signature's last line pair.
		if j := strings.LastIndex(g.Signature, "created by "); j >= 0 {
			out[i].Signature = g.Signature[:j]
		}
		out[i].Creator = nil
	}
	return out
}
