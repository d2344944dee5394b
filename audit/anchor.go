package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Anchor names one record of the trail by its sequence number and hash.
// The chain alone cannot show that nothing was rewritten or cut off from
// its end: an anchor kept where the database's administrators cannot
// write can (Check).
type Anchor struct {
	Seq  int64
	Hash string
}

// String is the anchor as ParseAnchor reads it: SEQ:HASH.
func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

// ParseAnchor reads SEQ:HASH as Anchor.String writes it.
func ParseAnchor(s string) (Anchor, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || len(hash) != 64 {
		return Anchor{}, fmt.Errorf("anchor %q: want SEQ:HASH as a verification printed it, e.g. 42:%s", s, strings.Repeat("0f", 32))
	}
	return Anchor{n, hash}, nil
}

// Check verifies the hash chain (Verify) and, unless anchor is zero, that
// record anchor.Seq still has anchor.Hash. It returns how many records it
// checked and the last one's anchor (zero for an empty trail), to keep
// for the next check. Any failure of the trail is an error naming it.
func (l *Log) Check(ctx context.Context, anchor Anchor, progress func(checked int64)) (checked int64, head Anchor, err error) {
	n, brk, err := l.Verify(ctx, progress)
	if err != nil {
		return n, Anchor{}, err
	}
	if brk != nil {
		return n, Anchor{}, fmt.Errorf("audit trail broken at record %d: %s (%d records before it verified)", brk.Seq, brk.Reason, n-1)
	}
	last, err := l.anchorAt(ctx, n)
	if err != nil {
		return n, Anchor{}, err
	}
	if anchor.Seq > 0 {
		at, err := l.anchorAt(ctx, anchor.Seq)
		switch {
		case err != nil:
			return n, last, err
		case at.Seq != anchor.Seq:
			return n, last, fmt.Errorf("audit trail cut off: the anchor is record %d, the trail ends at %d", anchor.Seq, n)
		case at.Hash != anchor.Hash:
			return n, last, fmt.Errorf("audit trail rewritten: record %d has hash %s, the anchor says %s", anchor.Seq, at.Hash, anchor.Hash)
		}
	}
	return n, last, nil
}

// anchorAt is record seq's anchor; zero when there is no such record.
func (l *Log) anchorAt(ctx context.Context, seq int64) (Anchor, error) {
	if seq < 1 {
		return Anchor{}, nil
	}
	recs, err := l.Query(ctx, Filter{AllStudies: true, AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(recs) == 0 || recs[0].Seq != seq {
		return Anchor{}, err
	}
	return Anchor{recs[0].Seq, recs[0].Hash}, nil
}
