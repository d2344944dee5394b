package audit

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNameBytes bounds a name as Name writes it into a record.
const MaxNameBytes = 128

// Name is how a record holds a name a client sent, such as the user name
// of a login, whatever it is: every attempt is recorded, so no name may
// make a record fail (PostgreSQL refuses NUL and bad UTF-8) or be dropped.
//
// A name made only of the characters user names may have (A-Z a-z 0-9
// . _ @ -) is kept as it is. Any other, the empty one included, is
// written Go-quoted, with control characters, invisible format characters
// and bad UTF-8 escaped: it cannot be read as a real user's name, nor
// forge a line of a log or a report. A name whose writing is longer than
// MaxNameBytes is cut at a character boundary and marked, e.g.
// "aaaa…"…[4000 bytes]: the quoted start and how long the name was.
func Name(s string) string {
	written, _ := CutName(s)
	return written
}

// CutName is Name, and whether the name had to be cut.
func CutName(s string) (written string, cut bool) {
	if len(s) > 0 && len(s) <= MaxNameBytes && plainName(s) {
		return s, false
	}
	q := strconv.QuoteToGraphic(s)
	if len(q) <= MaxNameBytes {
		return q, false
	}
	marker := "…[" + strconv.Itoa(len(s)) + " bytes]"
	room := MaxNameBytes - len(marker) - len(`""`)
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		q := strconv.QuoteToGraphic(s[i : i+size])
		q = q[1 : len(q)-1]
		if len(q) > room {
			break
		}
		room -= len(q)
		b.WriteString(q)
		i += size
	}
	b.WriteByte('"')
	b.WriteString(marker)
	return b.String(), true
}

func plainName(s string) bool {
	for i := range len(s) {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}
