// Package aeterms is the vocabulary that ties adverse-event terms to lab
// results, both ways: the MedDRA terms that report each abnormality CTCAE
// grades (Default, which LAB_AE_UNRECONCILED matches a severe result
// against, and a study adds to), and the terms that cannot be diagnosed
// without a result (ImpliedLabs, which AE_WITHOUT_LAB looks for). Tables
// as data, matched with spelling and case folded (Fold).
package aeterms

import (
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

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

// Default maps each abnormality CTCAE grades to the AE terms that
// report it: its CTCAE term as a MedDRA PT, the "investigations" PT
// ("... increased"), and the clinical diagnoses sites use instead.
var Default = map[LabSide][]string{
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

// Fold puts a term in the form terms are matched in: capitals, single
// spaces, American spelling.
func Fold(t string) string {
	return spelling.Replace(strings.Join(strings.Fields(strings.ToUpper(t)), " "))
}

// ImpliedLabs maps the MedDRA preferred terms that name a lab abnormality
// to the results that would show it; a result abnormal in any of the
// listed directions supports the AE. Only terms that cannot be diagnosed
// without that result are listed: the investigations PTs ("... increased")
// and the -aemias and -penias that are defined by a lab value. Clinical
// diagnoses that may rest on other evidence (hepatitis, acute kidney
// injury, pancreatitis, rhabdomyolysis, diabetes) are not, though the
// forward table (Default) accepts them as reports of a result.
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
		out[Fold(term)] = sides
	}
	return out
}()

// ImpliedBy returns the results an AE's coded term (else its verbatim
// term) implies, and the term that matched.
func ImpliedBy(ae *clinical.AdverseEvent) ([]LabSide, string) {
	for _, t := range []string{ae.Decoded, ae.Term} {
		if sides, ok := impliedLabs[Fold(t)]; ok && t != "" {
			return sides, t
		}
	}
	return nil, ""
}
