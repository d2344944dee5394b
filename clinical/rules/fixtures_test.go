package rules

import (
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/rulestest"
)

// The fixtures describe one subject first dosed on 2014-01-10.
var (
	testSubject = rulestest.Subject
	lab         = rulestest.Lab
	baselineLab = rulestest.BaselineLab
	alt         = rulestest.ALT
	ast         = rulestest.AST
	bili        = rulestest.Bili
	alp         = rulestest.ALP
	only        = rulestest.Only
	keysOf      = rulestest.KeysOf
	wantOne     = rulestest.WantOne
)

func labsInput(labs ...clinical.LabResult) Input {
	return Input{Subject: testSubject(), Labs: labs, HaveDoses: true, HaveEvents: true}
}
