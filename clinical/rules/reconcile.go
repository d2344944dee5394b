package rules

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// reconcileDays is how far an AE may lie from the lab date and still be
// the report of that abnormality: sites often record the AE at the next
// visit, or the lab confirms an event already reported.
const reconcileDays = 7

// LabSide is a lab test (LBTESTCD) abnormal in one direction.
type LabSide struct {
	Test      string
	Direction ctcae.Direction
}

// Term groups shared by several tests. MedDRA spells -aemia and haem- the
// British way; matching folds them, so "ANEMIA" matches "ANAEMIA" and the
// table lists each term once.
var (
	liverTestTerms = []string{
		"HEPATIC ENZYME INCREASED", "LIVER FUNCTION TEST ABNORMAL", "LIVER FUNCTION TEST INCREASED",
		"HEPATIC FUNCTION ABNORMAL", "LIVER INJURY", "DRUG-INDUCED LIVER INJURY", "HEPATOTOXICITY",
	}
	transaminaseTerms = append([]string{"TRANSAMINASES INCREASED", "HYPERTRANSAMINASAEMIA", "HEPATITIS", "HEPATOCELLULAR INJURY"}, liverTestTerms...)
	cholestasisTerms  = append([]string{"CHOLESTASIS", "HEPATITIS CHOLESTATIC"}, liverTestTerms...)
	renalTerms        = []string{"ACUTE KIDNEY INJURY", "RENAL FAILURE", "RENAL FAILURE ACUTE", "RENAL IMPAIRMENT"}
)

func terms(group []string, own ...string) []string {
	return append(own, group...)
}

// DefaultAETerms maps each abnormality CTCAE grades to the AE terms that
// report it: its CTCAE term as a MedDRA PT, the "investigations" PT
// ("... increased"), and the clinical diagnoses sites use instead.
var DefaultAETerms = map[LabSide][]string{
	{"ALT", ctcae.High}:     terms(transaminaseTerms, "ALANINE AMINOTRANSFERASE INCREASED", "ALANINE AMINOTRANSFERASE ABNORMAL"),
	{"AST", ctcae.High}:     terms(transaminaseTerms, "ASPARTATE AMINOTRANSFERASE INCREASED", "ASPARTATE AMINOTRANSFERASE ABNORMAL"),
	{"ALP", ctcae.High}:     terms(cholestasisTerms, "BLOOD ALKALINE PHOSPHATASE INCREASED", "BLOOD ALKALINE PHOSPHATASE ABNORMAL"),
	{"GGT", ctcae.High}:     terms(cholestasisTerms, "GAMMA-GLUTAMYLTRANSFERASE INCREASED"),
	{"BILI", ctcae.High}:    terms(cholestasisTerms, "BLOOD BILIRUBIN INCREASED", "HYPERBILIRUBINAEMIA", "JAUNDICE", "JAUNDICE CHOLESTATIC"),
	{"CREAT", ctcae.High}:   terms(renalTerms, "BLOOD CREATININE INCREASED", "BLOOD CREATININE ABNORMAL"),
	{"CK", ctcae.High}:      {"BLOOD CREATINE PHOSPHOKINASE INCREASED", "RHABDOMYOLYSIS", "MYOPATHY", "MYOSITIS"},
	{"ALB", ctcae.Low}:      {"HYPOALBUMINAEMIA", "BLOOD ALBUMIN DECREASED"},
	{"HGB", ctcae.Low}:      {"ANAEMIA", "HAEMOGLOBIN DECREASED", "HAEMOLYTIC ANAEMIA", "IRON DEFICIENCY ANAEMIA"},
	{"HGB", ctcae.High}:     {"HAEMOGLOBIN INCREASED", "POLYCYTHAEMIA"},
	{"PLAT", ctcae.Low}:     {"THROMBOCYTOPENIA", "PLATELET COUNT DECREASED"},
	{"WBC", ctcae.Low}:      {"LEUKOPENIA", "WHITE BLOOD CELL COUNT DECREASED", "NEUTROPENIA"},
	{"WBC", ctcae.High}:     {"LEUKOCYTOSIS", "WHITE BLOOD CELL COUNT INCREASED"},
	{"NEUT", ctcae.Low}:     {"NEUTROPENIA", "NEUTROPHIL COUNT DECREASED", "FEBRILE NEUTROPENIA"},
	{"LYM", ctcae.Low}:      {"LYMPHOPENIA", "LYMPHOCYTE COUNT DECREASED"},
	{"LYM", ctcae.High}:     {"LYMPHOCYTOSIS", "LYMPHOCYTE COUNT INCREASED"},
	{"K", ctcae.High}:       {"HYPERKALAEMIA", "BLOOD POTASSIUM INCREASED"},
	{"K", ctcae.Low}:        {"HYPOKALAEMIA", "BLOOD POTASSIUM DECREASED"},
	{"SODIUM", ctcae.High}:  {"HYPERNATRAEMIA", "BLOOD SODIUM INCREASED"},
	{"SODIUM", ctcae.Low}:   {"HYPONATRAEMIA", "BLOOD SODIUM DECREASED"},
	{"CA", ctcae.High}:      {"HYPERCALCAEMIA", "BLOOD CALCIUM INCREASED"},
	{"CA", ctcae.Low}:       {"HYPOCALCAEMIA", "BLOOD CALCIUM DECREASED"},
	{"CAION", ctcae.High}:   {"HYPERCALCAEMIA", "IONISED CALCIUM INCREASED"},
	{"CAION", ctcae.Low}:    {"HYPOCALCAEMIA", "IONISED CALCIUM DECREASED"},
	{"MG", ctcae.High}:      {"HYPERMAGNESAEMIA", "BLOOD MAGNESIUM INCREASED"},
	{"MG", ctcae.Low}:       {"HYPOMAGNESAEMIA", "BLOOD MAGNESIUM DECREASED"},
	{"GLUC", ctcae.High}:    {"HYPERGLYCAEMIA", "BLOOD GLUCOSE INCREASED", "DIABETES MELLITUS", "DIABETES MELLITUS INADEQUATE CONTROL"},
	{"GLUC", ctcae.Low}:     {"HYPOGLYCAEMIA", "BLOOD GLUCOSE DECREASED"},
	{"PHOS", ctcae.High}:    {"HYPERPHOSPHATAEMIA", "BLOOD PHOSPHORUS INCREASED"},
	{"PHOS", ctcae.Low}:     {"HYPOPHOSPHATAEMIA", "BLOOD PHOSPHORUS DECREASED"},
	{"CHOL", ctcae.High}:    {"HYPERCHOLESTEROLAEMIA", "BLOOD CHOLESTEROL INCREASED", "HYPERLIPIDAEMIA", "DYSLIPIDAEMIA"},
	{"TRIG", ctcae.High}:    {"HYPERTRIGLYCERIDAEMIA", "BLOOD TRIGLYCERIDES INCREASED", "HYPERLIPIDAEMIA", "DYSLIPIDAEMIA"},
	{"LIPASE", ctcae.High}:  {"LIPASE INCREASED", "PANCREATITIS"},
	{"AMYLASE", ctcae.High}: {"AMYLASE INCREASED", "PANCREATITIS"},
	{"INR", ctcae.High}:     {"INTERNATIONAL NORMALISED RATIO INCREASED", "COAGULOPATHY"},
}

// spelling folds British MedDRA spellings to American ones (and leaves
// words without "AE" alone), so either spelling on either side matches.
var spelling = strings.NewReplacer("AE", "E")

func foldTerm(t string) string {
	return spelling.Replace(strings.Join(strings.Fields(strings.ToUpper(t)), " "))
}

// aeTerms returns the AE terms (folded) that report side, from the default
// table and the study's additions.
func (c *Config) aeTerms(side LabSide) []string {
	var out []string
	add := func(ts []string) {
		for _, t := range ts {
			out = append(out, foldTerm(t))
		}
	}
	add(DefaultAETerms[side])
	for key, ts := range c.AETerms {
		test, dir, hasDir := strings.Cut(key, ":")
		if strings.EqualFold(strings.TrimSpace(test), side.Test) &&
			(!hasDir || strings.EqualFold(strings.TrimSpace(dir), string(side.Direction))) {
			add(ts)
		}
	}
	return out
}

// reconcileSignals raises a data query for each episode of on-treatment
// grade ≥ 3 results with no AE of a matching term near them. An AE is
// near when it is ongoing within reconcileDays of the lab date: onset up
// to 7 days after the draw, and not resolved more than 7 days before it,
// so a long-running "anaemia" covers every low haemoglobin during it.
// Partial AE dates match when they may fall in the window, and an AE with
// no onset date matches any lab: a query must be certainly needed, as
// each one costs a site visit.
func (s *subject) reconcileSignals() []clinical.Signal {
	folded := make([][2]string, len(s.in.Events))
	for k, ae := range s.in.Events {
		folded[k] = [2]string{foldTerm(ae.Decoded), foldTerm(ae.Term)}
	}
	tr := treatmentOf(&s.in.Subject)
	return s.gradeEpisodes(func(i int, r ctcae.Result) (float64, bool) {
		lab := &s.in.Labs[i]
		// Abnormalities present before dosing are medical history, not
		// adverse events (ICH E2A: an AE follows administration).
		if r.Grade < reconcileGrade || !tr.includes(lab) {
			return 0, false
		}
		want := s.cfg.aeTerms(LabSide{lab.TestCode, r.Direction})
		for k := range s.in.Events {
			if matchesAny(folded[k], want) && aeNear(&s.in.Events[k], lab.Date) {
				return 0, false
			}
		}
		return float64(r.Grade), true
	}, func(e episode, r ctcae.Result) clinical.Signal {
		lab := &s.in.Labs[e.worst]
		side := LabSide{lab.TestCode, r.Direction}
		want := s.cfg.aeTerms(side)
		ev := s.gradeEvidence(e, r)
		ev["window_days"] = reconcileDays
		ev["ae_terms"] = want
		msg := fmt.Sprintf("Grade %d %s with no matching adverse event within %d days: %s%s. Please report an AE or explain why none is needed",
			r.Grade, r.Term, reconcileDays, labText(lab, r), s.spanText(e))
		if len(want) == 0 {
			msg = fmt.Sprintf("Grade %d %s: %s%s. No AE term is mapped to %s %s (study configuration), so no AE could be matched; check the AE log",
				r.Grade, r.Term, labText(lab, r), s.spanText(e), side.Test, side.Direction)
		}
		return s.episodeSignal(LabAEUnreconciled, clinical.SeverityMedium, s.gradeKey(e, r), e, ev, msg)
	})
}

func matchesAny(names [2]string, want []string) bool {
	for _, w := range want {
		if names[0] == w || names[1] == w {
			return true
		}
	}
	return false
}

// aeNear reports whether ae may be ongoing within reconcileDays of day.
func aeNear(ae *clinical.AdverseEvent, day clinical.Date) bool {
	if day == "" || ae.Start == "" {
		return true
	}
	// Onset no later than 7 days after the lab...
	if within, known := mayBeWithin(day, ae.Start, -1<<30, reconcileDays); known && !within {
		return false
	}
	// ...and not over more than 7 days before it. No end date: ongoing.
	if within, known := mayBeWithin(day, ae.End, -reconcileDays, 1<<30); known && !within {
		return false
	}
	return true
}
