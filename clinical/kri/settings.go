package kri

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Settings is what a study changes of the defaults: per KRI its
// thresholds and minimum denominator, and its quality tolerance limits.
// The zero Settings means the defaults with the default QTLs.
type Settings struct {
	KRIs map[string]KRISettings `json:"kris,omitempty"`
	// QTLs are study-level limits: a KRI's id → the largest study-wide
	// metric (all sites' numerators over all denominators) tolerated.
	// nil means DefaultQTLs; an empty map, none.
	QTLs map[string]float64 `json:"qtls"`
}

// KRISettings overrides a KRI's defaults; a field left out keeps it.
type KRISettings struct {
	Thresholds     []float64 `json:"thresholds,omitempty"`
	MinDenominator *float64  `json:"min_denominator,omitempty"`
}

// DefaultQTLs are the limits of a study that set none: a study
// discontinuation rate above 30% of enrolled subjects. gsm.qtl tests the
// same rate (qtl0002) against a historical rate; a fixed limit per study
// is what a monitoring plan states.
func DefaultQTLs() map[string]float64 {
	return map[string]float64{StudyDiscontinued: 0.30}
}

// QTLs is the limits s sets, or the defaults.
func (s Settings) qtls() map[string]float64 {
	if s.QTLs == nil {
		return DefaultQTLs()
	}
	return s.QTLs
}

// Spec is KRI id's spec with s's overrides, and whether id is a KRI.
func (s Settings) Spec(id string) (Spec, bool) {
	sp, ok := SpecFor(id)
	if !ok {
		return sp, false
	}
	if o, set := s.KRIs[id]; set {
		// A stored override of another count (a KRI whose flags changed
		// since) cannot apply: the defaults stand.
		if o.Thresholds != nil && len(o.Thresholds) == len(sp.Flags)-1 {
			sp.Thresholds = slices.Clone(o.Thresholds)
		}
		if o.MinDenominator != nil {
			sp.MinDenominator = *o.MinDenominator
		}
	}
	return sp, true
}

// Specs are every KRI's spec with s's overrides, in report order.
func (s Settings) Specs() []Spec {
	out := Specs()
	for i := range out {
		out[i], _ = s.Spec(out[i].ID)
	}
	return out
}

// Validate says what is wrong with s, naming the field as a settings
// document spells it: unknown KRIs and QTLs; thresholds that are not
// finite, not ascending, of the wrong number for the KRI's flags, or on
// the wrong side of 0 (a KRI flagged only upwards takes no negative
// threshold; a two-sided one takes its low thresholds ≤ 0 and its high
// ones ≥ 0); minimum denominators and limits that are negative or not
// finite, and proportion limits above 1.
func (s Settings) Validate() error {
	for _, id := range sortedKeys(s.KRIs) {
		o := s.KRIs[id]
		sp, ok := SpecFor(id)
		if !ok {
			return fmt.Errorf("kris: unknown KRI %q (want one of %s)", id, knownIDs())
		}
		field := "kris." + id
		if o.Thresholds != nil {
			if len(o.Thresholds) != len(sp.Flags)-1 {
				return fmt.Errorf("%s.thresholds: want %d thresholds for the flags %v, got %d", field, len(sp.Flags)-1, sp.Flags, len(o.Thresholds))
			}
			for i, t := range o.Thresholds {
				name := fmt.Sprintf("%s.thresholds[%d]", field, i)
				if math.IsNaN(t) || math.IsInf(t, 0) {
					return fmt.Errorf("%s: %g is not a finite number", name, t)
				}
				if i > 0 && t <= o.Thresholds[i-1] {
					return fmt.Errorf("%s: thresholds must ascend, %g follows %g", name, t, o.Thresholds[i-1])
				}
				// The flag a threshold leads to says its side: reaching
				// it moves the flag up from ≤ 0 into a high flag, or up
				// to 0 from a low one.
				high := sp.Flags[i+1] > 0
				if high && t < 0 {
					return fmt.Errorf("%s: %g is negative; it starts flag %d, a high flag, and must be ≥ 0", name, t, sp.Flags[i+1])
				}
				if !high && t > 0 {
					return fmt.Errorf("%s: %g is positive; it ends flag %d, a low flag, and must be ≤ 0", name, t, sp.Flags[i])
				}
			}
		}
		if m := o.MinDenominator; m != nil {
			if err := nonNegative(field+".min_denominator", *m); err != nil {
				return err
			}
		}
	}
	for _, id := range sortedKeys(s.QTLs) {
		sp, ok := SpecFor(id)
		if !ok {
			return fmt.Errorf("qtls: unknown QTL %q (a QTL limits a KRI's study-wide metric; want one of %s)", id, knownIDs())
		}
		limit := s.QTLs[id]
		if err := nonNegative("qtls."+id, limit); err != nil {
			return err
		}
		if sp.Model == Binary && limit > 1 {
			return fmt.Errorf("qtls.%s: %g is above 1; %s is a proportion (0.3 means 30%%)", id, limit, sp.Name)
		}
	}
	return nil
}

func nonNegative(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%s: %g is not a finite number ≥ 0", name, v)
	}
	return nil
}

func knownIDs() string {
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	return strings.Join(ids, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
