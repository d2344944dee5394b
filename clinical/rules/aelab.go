package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// AEWithoutLab: an adverse event whose term states a lab abnormality
// ("ALANINE AMINOTRANSFERASE INCREASED", "HYPONATRAEMIA") with no
// abnormal result of that test near it: the reverse of
// LAB_AE_UNRECONCILED. Either the result never reached the database (a
// local lab, a transfer gap) or the AE is coded to the wrong term; both
// are data queries.
const AEWithoutLab clinical.Rule = "AE_WITHOUT_LAB"

// ImpliedLabs maps the MedDRA preferred terms that name a lab abnormality
// to the results that would show it; a result abnormal in any of the
// listed directions supports the AE. Only terms that cannot be diagnosed
// without that result are listed: the investigations PTs ("... increased")
// and the -aemias and -penias that are defined by a lab value. Clinical
// diagnoses that may rest on other evidence (hepatitis, acute kidney
// injury, pancreatitis, rhabdomyolysis, diabetes) are not, though the
// forward table (DefaultAETerms) accepts them as reports of a result.
// Keys are MedDRA's British spelling; matching folds spelling and case
// as the forward table does.
var ImpliedLabs = map[string][]LabSide{
	// liver
	"ALANINE AMINOTRANSFERASE INCREASED":       {{"ALT", ctcae.High}},
	"ASPARTATE AMINOTRANSFERASE INCREASED":     {{"AST", ctcae.High}},
	"TRANSAMINASES INCREASED":                  {{"ALT", ctcae.High}, {"AST", ctcae.High}},
	"HYPERTRANSAMINASAEMIA":                    {{"ALT", ctcae.High}, {"AST", ctcae.High}},
	"HEPATIC ENZYME INCREASED":                 {{"ALT", ctcae.High}, {"AST", ctcae.High}, {"ALP", ctcae.High}, {"GGT", ctcae.High}},
	"LIVER FUNCTION TEST INCREASED":            liverPanelHigh,
	"LIVER FUNCTION TEST ABNORMAL":             liverPanelHigh,
	"HEPATIC FUNCTION ABNORMAL":                liverPanelHigh,
	"BLOOD ALKALINE PHOSPHATASE INCREASED":     {{"ALP", ctcae.High}},
	"GAMMA-GLUTAMYLTRANSFERASE INCREASED":      {{"GGT", ctcae.High}},
	"BLOOD BILIRUBIN INCREASED":                {{"BILI", ctcae.High}},
	"HYPERBILIRUBINAEMIA":                      {{"BILI", ctcae.High}},
	"JAUNDICE":                                 {{"BILI", ctcae.High}},
	"INTERNATIONAL NORMALISED RATIO INCREASED": {{"INR", ctcae.High}},
	"BLOOD ALBUMIN DECREASED":                  {{"ALB", ctcae.Low}},
	"HYPOALBUMINAEMIA":                         {{"ALB", ctcae.Low}},
	// renal
	"BLOOD CREATININE INCREASED": {{"CREAT", ctcae.High}},
	"BLOOD UREA INCREASED":       {{"BUN", ctcae.High}},
	"AZOTAEMIA":                  {{"BUN", ctcae.High}},
	// haematology
	"ANAEMIA":                          {{"HGB", ctcae.Low}},
	"HAEMOGLOBIN DECREASED":            {{"HGB", ctcae.Low}},
	"HAEMOGLOBIN INCREASED":            {{"HGB", ctcae.High}},
	"THROMBOCYTOPENIA":                 {{"PLAT", ctcae.Low}},
	"PLATELET COUNT DECREASED":         {{"PLAT", ctcae.Low}},
	"THROMBOCYTOSIS":                   {{"PLAT", ctcae.High}},
	"PLATELET COUNT INCREASED":         {{"PLAT", ctcae.High}},
	"NEUTROPENIA":                      {{"NEUT", ctcae.Low}},
	"NEUTROPHIL COUNT DECREASED":       {{"NEUT", ctcae.Low}},
	"NEUTROPHILIA":                     {{"NEUT", ctcae.High}},
	"NEUTROPHIL COUNT INCREASED":       {{"NEUT", ctcae.High}},
	"LEUKOPENIA":                       {{"WBC", ctcae.Low}},
	"WHITE BLOOD CELL COUNT DECREASED": {{"WBC", ctcae.Low}},
	"LEUKOCYTOSIS":                     {{"WBC", ctcae.High}},
	"WHITE BLOOD CELL COUNT INCREASED": {{"WBC", ctcae.High}},
	"LYMPHOPENIA":                      {{"LYM", ctcae.Low}},
	"LYMPHOCYTE COUNT DECREASED":       {{"LYM", ctcae.Low}},
	"LYMPHOCYTOSIS":                    {{"LYM", ctcae.High}},
	"LYMPHOCYTE COUNT INCREASED":       {{"LYM", ctcae.High}},
	"EOSINOPHILIA":                     {{"EOS", ctcae.High}},
	"EOSINOPHIL COUNT INCREASED":       {{"EOS", ctcae.High}},
	// electrolytes and metabolism
	"HYPERKALAEMIA":                          {{"K", ctcae.High}},
	"BLOOD POTASSIUM INCREASED":              {{"K", ctcae.High}},
	"HYPOKALAEMIA":                           {{"K", ctcae.Low}},
	"BLOOD POTASSIUM DECREASED":              {{"K", ctcae.Low}},
	"HYPERNATRAEMIA":                         {{"SODIUM", ctcae.High}},
	"BLOOD SODIUM INCREASED":                 {{"SODIUM", ctcae.High}},
	"HYPONATRAEMIA":                          {{"SODIUM", ctcae.Low}},
	"BLOOD SODIUM DECREASED":                 {{"SODIUM", ctcae.Low}},
	"HYPERCALCAEMIA":                         {{"CA", ctcae.High}, {"CAION", ctcae.High}},
	"BLOOD CALCIUM INCREASED":                {{"CA", ctcae.High}, {"CAION", ctcae.High}},
	"HYPOCALCAEMIA":                          {{"CA", ctcae.Low}, {"CAION", ctcae.Low}},
	"BLOOD CALCIUM DECREASED":                {{"CA", ctcae.Low}, {"CAION", ctcae.Low}},
	"HYPERMAGNESAEMIA":                       {{"MG", ctcae.High}},
	"HYPOMAGNESAEMIA":                        {{"MG", ctcae.Low}},
	"HYPERPHOSPHATAEMIA":                     {{"PHOS", ctcae.High}},
	"BLOOD PHOSPHORUS INCREASED":             {{"PHOS", ctcae.High}},
	"HYPOPHOSPHATAEMIA":                      {{"PHOS", ctcae.Low}},
	"BLOOD PHOSPHORUS DECREASED":             {{"PHOS", ctcae.Low}},
	"HYPERGLYCAEMIA":                         {{"GLUC", ctcae.High}},
	"BLOOD GLUCOSE INCREASED":                {{"GLUC", ctcae.High}},
	"HYPOGLYCAEMIA":                          {{"GLUC", ctcae.Low}},
	"BLOOD GLUCOSE DECREASED":                {{"GLUC", ctcae.Low}},
	"HYPERURICAEMIA":                         {{"URATE", ctcae.High}},
	"BLOOD URIC ACID INCREASED":              {{"URATE", ctcae.High}},
	"HYPERCHOLESTEROLAEMIA":                  {{"CHOL", ctcae.High}},
	"BLOOD CHOLESTEROL INCREASED":            {{"CHOL", ctcae.High}},
	"HYPERTRIGLYCERIDAEMIA":                  {{"TRIG", ctcae.High}},
	"BLOOD TRIGLYCERIDES INCREASED":          {{"TRIG", ctcae.High}},
	"BLOOD CREATINE PHOSPHOKINASE INCREASED": {{"CK", ctcae.High}},
	"LIPASE INCREASED":                       {{"LIPASE", ctcae.High}},
	"AMYLASE INCREASED":                      {{"AMYLASE", ctcae.High}},
}

var liverPanelHigh = []LabSide{{"ALT", ctcae.High}, {"AST", ctcae.High}, {"ALP", ctcae.High}, {"GGT", ctcae.High}, {"BILI", ctcae.High}}

// impliedLabs is ImpliedLabs keyed by folded term.
var impliedLabs = func() map[string][]LabSide {
	out := make(map[string][]LabSide, len(ImpliedLabs))
	for term, sides := range ImpliedLabs {
		out[foldTerm(term)] = sides
	}
	return out
}()

// sidesOf returns the results an AE's coded term (else its verbatim term)
// implies, and the term that matched.
func sidesOf(ae *clinical.AdverseEvent) ([]LabSide, string) {
	for _, t := range []string{ae.Decoded, ae.Term} {
		if sides, ok := impliedLabs[foldTerm(t)]; ok && t != "" {
			return sides, t
		}
	}
	return nil, ""
}

// aeWithoutLabSignals raises AE_WITHOUT_LAB for each AE whose term
// implies an abnormal result when no result of those tests, abnormal in
// the implied direction, may lie within reconcileDays of the AE: from 7
// days before its onset to 7 days after its end (no end: ongoing). A
// result beyond its reference limit or of CTCAE grade ≥ 1 in that
// direction supports the AE. The query must be certainly needed, so an
// AE with no onset date raises nothing, partial and missing lab dates
// count wherever they may fall, and an AE of a test the subject has no
// result of at all raises nothing (the study may not collect that test,
// or the subject's labs have not arrived). Keyed by the AE, so the
// finding is withdrawn when a supporting result arrives or the term is
// recoded.
func (s *subject) aeWithoutLabSignals() []clinical.Signal {
	var out []clinical.Signal
	for k := range s.in.Events {
		ae := &s.in.Events[k]
		sides, term := sidesOf(ae)
		if len(sides) == 0 || ae.Start == "" {
			continue
		}
		measured := false
		var near []int // results of the implied tests that may lie in the window
		supported := false
		for _, side := range sides {
			for _, i := range s.byTest[side.Test] {
				lab := &s.in.Labs[i]
				if !lab.HasValue {
					continue
				}
				measured = true
				if !aeNear(ae, lab.Date) {
					continue
				}
				near = append(near, i)
				if s.abnormal(i, side.Direction) {
					supported = true
				}
			}
		}
		if supported || !measured {
			continue
		}
		out = append(out, s.aeWithoutLabSignal(ae, term, sides, near))
	}
	return out
}

// abnormal reports whether lab i lies beyond its reference limit, or has
// a CTCAE grade ≥ 1, in direction dir.
func (s *subject) abnormal(i int, dir ctcae.Direction) bool {
	lab := &s.in.Labs[i]
	switch {
	case dir == ctcae.High && lab.HasHigh && lab.Value > lab.High,
		dir == ctcae.Low && lab.HasLow && lab.Value < lab.Low:
		return true
	}
	for _, r := range s.grades[i] {
		if r.Gradable && r.Grade >= 1 && r.Direction == dir {
			return true
		}
	}
	return false
}

func (s *subject) aeWithoutLabSignal(ae *clinical.AdverseEvent, term string, sides []LabSide, near []int) clinical.Signal {
	key := "AE:" + strconv.Itoa(ae.Seq)
	implied := make([]string, len(sides))
	for i, side := range sides {
		implied[i] = side.Test + ":" + string(side.Direction)
	}
	results := []string{key}
	seen := "no result of " + testsText(sides) + " within the window"
	if len(near) > 0 {
		var texts []string
		for k, i := range near {
			l := &s.in.Labs[i]
			results = append(results, "LB:"+strconv.Itoa(l.Seq))
			if k < maxListed {
				texts = append(texts, fmt.Sprintf("%s %s %s on %s", l.TestCode, fmtNum(l.Value), l.Unit, dateText(l.Date)))
			}
		}
		if len(near) > maxListed {
			texts = append(texts, fmt.Sprintf("%d more", len(near)-maxListed))
		}
		seen = fmt.Sprintf("%d result(s) within the window, none abnormal that way: %s", len(near), strings.Join(texts, "; "))
	}
	end := "ongoing"
	if ae.End != "" {
		end = "to " + string(ae.End)
	}
	ev := map[string]any{"aeseq": ae.Seq, "term": ae.Term, "decoded": ae.Decoded, "matched_term": term,
		"onset": string(ae.Start), "end": string(ae.End), "implies": implied, "window_days": reconcileDays,
		"results_in_window": len(near), "results": results}
	sg := s.signal(AEWithoutLab, clinical.SeverityLow, key, ev,
		fmt.Sprintf("AE %s (AESEQ %d, from %s %s) implies %s, but %s (±%d days). Please send the result that shows it, or check the AE term",
			aeName(ae), ae.Seq, ae.Start, end, impliedText(sides), seen, reconcileDays))
	sg.First, sg.Last = ae.Start, ae.End
	if sg.Last == "" || CompareDates(sg.Last, sg.First) == OrderBefore {
		sg.Last = sg.First
	}
	return sg
}

// maxListed is how many results in the window a message lists; the
// evidence lists them all.
const maxListed = 5

func testsText(sides []LabSide) string {
	var tests []string
	for _, side := range sides {
		if !slices.Contains(tests, side.Test) {
			tests = append(tests, side.Test)
		}
	}
	return strings.Join(tests, " or ")
}

func impliedText(sides []LabSide) string {
	parts := make([]string, len(sides))
	for i, side := range sides {
		parts[i] = side.Test + " " + string(side.Direction)
	}
	return strings.Join(parts, " or ")
}
