package ctcae

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
)

// Context says how a grade that the criteria define by clinical context
// (symptoms, "physiologic consequences", anticoagulation) is read when a
// lab record carries only the number.
type Context string

const (
	// NumberOnly gives the grade the number alone meets: where one range
	// is split by symptoms, the asymptomatic grade. The default.
	NumberOnly Context = "number-only"
	// WorstCase assumes the context that gives the higher grade
	// (symptomatic, with physiologic consequences, on anticoagulation),
	// as pharmaverse admiral does.
	WorstCase Context = "worst-case"
)

// Contexts lists the grading contexts.
var Contexts = []Context{NumberOnly, WorstCase}

// ParseContext reads a grading context name; empty means NumberOnly.
func ParseContext(s string) (Context, error) {
	switch c := Context(strings.ToLower(strings.TrimSpace(s))); c {
	case "":
		return NumberOnly, nil
	case NumberOnly, WorstCase:
		return c, nil
	}
	return "", fmt.Errorf("unknown grading context %q (want %s or %s)", s, NumberOnly, WorstCase)
}

// Option gives Grade what some terms need beyond the record. Options are
// values, not closures, so that grading a large LB allocates nothing for
// them.
type Option struct {
	set     optionSet
	context Context
	albumin *clinical.LabResult
	subject *clinical.Subject
}

type optionSet uint8

const (
	setContext optionSet = 1 << iota
	setAlbumin
	setSubject
)

type options struct {
	worstCase bool
	albumin   *clinical.LabResult
	subject   *clinical.Subject
}

func (o *options) apply(opts []Option) {
	for _, opt := range opts {
		if opt.set&setContext != 0 {
			o.worstCase = opt.context == WorstCase
		}
		if opt.set&setAlbumin != 0 {
			o.albumin = opt.albumin
		}
		if opt.set&setSubject != 0 {
			o.subject = opt.subject
		}
	}
}

// WithContext grades context-dependent terms as c says.
func WithContext(c Context) Option { return Option{set: setContext, context: c} }

// WithAlbumin gives the albumin measured on the same draw as the record,
// from which total calcium is corrected (Payne): without it, total calcium
// is not graded by CTCAE, whose calcium criteria are written for
// albumin-corrected (or ionised) calcium. Nil is no albumin.
func WithAlbumin(alb *clinical.LabResult) Option { return Option{set: setAlbumin, albumin: alb} }

// WithSubject gives the subject the record is of: its sex (SEX) and age
// (BRTHDTC, or AGE in years at RFSTDTC), for criteria whose grades differ
// by age at collection and sex (DAIDS). Nil is no subject known.
func WithSubject(s *clinical.Subject) Option { return Option{set: setSubject, subject: s} }
