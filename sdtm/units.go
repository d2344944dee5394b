package sdtm

import (
	"slices"
	"strings"
)

// labUnits are the standardized lab result units (LBSTRESU) trialwatch
// accepts: SI and conventional units as CDISC controlled terminology
// (codelist UNIT) writes them. Case matters: mU/L is not MU/L.
var labUnits = []string{
	// amount of substance
	"mol/L", "mmol/L", "umol/L", "nmol/L", "pmol/L", "fmol/L", "mEq/L", "mmol/mol", "mmol/kg", "umol/mmol",
	"mOsm/kg", "mOsm/L",
	// mass
	"kg/L", "g/L", "g/dL", "g/mL", "mg/L", "mg/dL", "mg/mL", "ug/L", "ug/dL", "ug/mL", "ng/L", "ng/dL", "ng/mL",
	"pg/L", "pg/mL", "mg/g", "mg/mmol", "g/24h", "mg/24h",
	// catalytic activity and international units
	"U/L", "mU/L", "kU/L", "IU/L", "mIU/L", "IU/mL", "mIU/mL", "uIU/mL", "ukat/L", "nkat/L", "U/mL", "kIU/L",
	// counts
	"10^9/L", "10^12/L", "10^6/L", "10^3/uL", "10^6/uL", "GI/L", "TI/L", "MI/L", "/uL", "/mm3", "/L", "/HPF", "/LPF",
	"cells/uL",
	// cells and cell content
	"fL", "um3", "pg", "fmol(Fe)", "fmol",
	// fractions and ratios
	"%", "FRACTION", "RATIO", "1", "L/L",
	// physical
	"s", "sec", "min", "h", "mm/h", "mmHg", "kPa", "g/mL(SG)", "mL/min", "mL/min/1.73m2", "mL/s", "mL/s/1.73m2", "mL",
	"Pa.s", "mPa.s", "pH",
}

var labUnitSet = func() map[string]bool {
	m := make(map[string]bool, len(labUnits))
	for _, u := range labUnits {
		m[u] = true
	}
	return m
}()

// LabUnits returns the lab result units (LBSTRESU) a file may use.
func LabUnits() []string { return slices.Clone(labUnits) }

func knownLabUnit(u string) bool { return labUnitSet[u] }

// labUnitLike returns a known unit that differs from u only in case, or "".
func labUnitLike(u string) string {
	for _, k := range labUnits {
		if strings.EqualFold(k, u) {
			return k
		}
	}
	return ""
}
