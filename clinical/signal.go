package clinical

import (
	"fmt"
	"strings"
	"time"
)

// Severity orders signals by how urgently a medical monitor should look.
type Severity int

const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name as String prints it.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", name, strings.Join(severityNames[:], ", "))
}

// MarshalText makes severities read as names in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the names MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Rule names what raised a signal.
type Rule string

const (
	RuleLabOutOfRange   Rule = "LAB_OUT_OF_RANGE"
	RuleCheckIncomplete Rule = "CHECK_INCOMPLETE"
)

// Signal is a risk signal raised for one subject.
type Signal struct {
	ID       int64
	Study    string
	Site     string
	USUBJID  string
	Rule     Rule
	Severity Severity
	// Key identifies the evidence so the same finding is raised once, e.g.
	// the lab record "LB:39". Re-checking a subject never duplicates it.
	Key      string
	Evidence map[string]any
	Message  string
	Created  time.Time
}
