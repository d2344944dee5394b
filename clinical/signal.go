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
	// RuleSiteKRIFlag: a site key risk indicator newly flagged; the
	// finding is the site's, with no subject.
	RuleSiteKRIFlag Rule = "SITE_KRI_FLAG"
	// RuleQTLExceeded: a study-level quality tolerance limit crossed.
	RuleQTLExceeded Rule = "QTL_EXCEEDED"
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
	// First and Last are the dates of the earliest and latest records the
	// finding rests on (one date for a single record); empty when unknown.
	First, Last Date
	Created     time.Time
	Status      SignalStatus // empty until stored; new when raised
	Reason      string       // why it was last changed (required to close)
	Updated     time.Time    // last status change; zero if never
}

// SignalStatus is where a signal is in its review: a monitor acknowledges
// it, then closes it with a reason.
type SignalStatus string

const (
	StatusNew          SignalStatus = "new"
	StatusAcknowledged SignalStatus = "acknowledged"
	StatusClosed       SignalStatus = "closed"
	// StatusResolvedByData: a re-check no longer raises the finding (a
	// corrected value, an AE now reported). Only checks set it; a finding
	// raised again reopens as new.
	StatusResolvedByData SignalStatus = "resolved_by_data"
)

// ParseSignalStatus reads a status name.
func ParseSignalStatus(s string) (SignalStatus, error) {
	switch v := SignalStatus(s); v {
	case StatusNew, StatusAcknowledged, StatusClosed, StatusResolvedByData:
		return v, nil
	}
	return "", fmt.Errorf("unknown signal status %q (want new, acknowledged, closed or resolved_by_data)", s)
}

// CheckTransition says whether a signal may move from s to to, and why not.
// Review only moves forward, and closing needs a reason so that the record
// shows why a finding was dismissed.
func (s SignalStatus) CheckTransition(to SignalStatus, reason string) error {
	switch {
	case s == StatusNew && (to == StatusAcknowledged || to == StatusClosed):
	case s == StatusAcknowledged && to == StatusClosed:
	case s == StatusResolvedByData && (to == StatusAcknowledged || to == StatusClosed):
	default:
		return fmt.Errorf("a signal cannot go from %s to %s (allowed: new → acknowledged → closed, new → closed, and from resolved_by_data to acknowledged or closed; only a check sets resolved_by_data)", s, to)
	}
	if to == StatusClosed && strings.TrimSpace(reason) == "" {
		return fmt.Errorf("closing a signal needs a reason")
	}
	return nil
}
