package clinical

// Direction says on which side of its reference range a value lies.
type Direction string

const (
	High Direction = "high"
	Low  Direction = "low"
)

// RangeFinding is a lab value outside its reference range.
type RangeFinding struct {
	Direction Direction
	// Ratio is value/ULN for high values (×ULN) and value/LLN for low ones
	// (×LLN, below 1).
	Ratio    float64
	Severity Severity
}

// CheckRange compares a lab value with its reference limits. ok is false
// when the value is within range or cannot be compared (no value, or no
// limit on the side it falls).
func CheckRange(r LabResult) (f RangeFinding, ok bool) {
	if !r.HasValue {
		return RangeFinding{}, false
	}
	switch {
	case r.HasHigh && r.High > 0 && r.Value > r.High:
		ratio := r.Value / r.High
		return RangeFinding{Direction: High, Ratio: ratio, Severity: highSeverity(ratio)}, true
	case r.HasLow && r.Low > 0 && r.Value < r.Low:
		ratio := r.Value / r.Low
		return RangeFinding{Direction: Low, Ratio: ratio, Severity: lowSeverity(ratio)}, true
	}
	return RangeFinding{}, false
}

// The cut-offs follow the multiples CTCAE uses for most chemistry terms
// (1.5×, 3×, 5× ULN) so that this coarse rule and full grading agree on
// what is urgent.
func highSeverity(ratio float64) Severity {
	switch {
	case ratio > 5:
		return SeverityCritical
	case ratio > 3:
		return SeverityHigh
	case ratio > 1.5:
		return SeverityMedium
	default:
		return SeverityLow
	}
}

// Low values have no multiples in common use; quarters of the LLN give the
// same four steps.
func lowSeverity(ratio float64) Severity {
	switch {
	case ratio < 0.25:
		return SeverityCritical
	case ratio < 0.5:
		return SeverityHigh
	case ratio < 0.75:
		return SeverityMedium
	default:
		return SeverityLow
	}
}
