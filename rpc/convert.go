package rpc

import (
	"github.com/trialwatch/trialwatch/clinical"
	v1 "github.com/trialwatch/trialwatch/gen/trialwatch/v1"
)

func subjectToProto(s clinical.Subject) *v1.Subject {
	return &v1.Subject{
		Study: s.Study, Usubjid: s.USUBJID, Site: s.Site, Sex: s.Sex, Age: int32(s.Age), Arm: s.Arm,
		ConsentDate: string(s.ConsentDate), FirstDoseDate: string(s.FirstDose), LastDoseDate: string(s.LastDose),
		EndOfStudyDate: string(s.EndOfStudy), DeathDate: string(s.DeathDate),
		RefStartDate: string(s.RefStart), RefEndDate: string(s.RefEnd), BirthDate: string(s.BirthDate),
	}
}

func subjectFromProto(p *v1.Subject) clinical.Subject {
	return clinical.Subject{
		Study: p.GetStudy(), USUBJID: p.GetUsubjid(), Site: p.GetSite(), Sex: p.GetSex(), Age: int(p.GetAge()), Arm: p.GetArm(),
		ConsentDate: clinical.Date(p.GetConsentDate()), FirstDose: clinical.Date(p.GetFirstDoseDate()),
		LastDose: clinical.Date(p.GetLastDoseDate()), EndOfStudy: clinical.Date(p.GetEndOfStudyDate()),
		DeathDate: clinical.Date(p.GetDeathDate()), RefStart: clinical.Date(p.GetRefStartDate()),
		RefEnd: clinical.Date(p.GetRefEndDate()), BirthDate: clinical.Date(p.GetBirthDate()),
	}
}

func doseToProto(d clinical.Dose) *v1.Dose {
	p := &v1.Dose{Usubjid: d.USUBJID, Seq: int32(d.Seq), Treatment: d.Treatment, Unit: d.Unit, Route: d.Route,
		StartDate: string(d.Start), EndDate: string(d.End)}
	if d.HasDose {
		p.Dose = &d.Dose
	}
	return p
}

func doseFromProto(study, usubjid string, p *v1.Dose) clinical.Dose {
	return clinical.Dose{Study: study, USUBJID: usubjid, Seq: int(p.GetSeq()), Treatment: p.GetTreatment(),
		Dose: p.GetDose(), HasDose: p.Dose != nil, Unit: p.GetUnit(), Route: p.GetRoute(),
		Start: clinical.Date(p.GetStartDate()), End: clinical.Date(p.GetEndDate())}
}

func eventToProto(e clinical.AdverseEvent) *v1.AdverseEvent {
	p := &v1.AdverseEvent{Usubjid: e.USUBJID, Seq: int32(e.Seq), Term: e.Term, DecodedTerm: e.Decoded, BodySystem: e.BodySystem,
		Severity: e.Severity, Serious: e.Serious, StartDate: string(e.Start), EndDate: string(e.End), RecordedDate: string(e.Recorded)}
	if e.HasEntryLag {
		lag := int32(e.EntryLag)
		p.EntryLag = &lag
	}
	return p
}

func eventFromProto(study, usubjid string, p *v1.AdverseEvent) clinical.AdverseEvent {
	return clinical.AdverseEvent{Study: study, USUBJID: usubjid, Seq: int(p.GetSeq()), Term: p.GetTerm(),
		Decoded: p.GetDecodedTerm(), BodySystem: p.GetBodySystem(), Severity: p.GetSeverity(), Serious: p.GetSerious(),
		Start: clinical.Date(p.GetStartDate()), End: clinical.Date(p.GetEndDate()), Recorded: clinical.Date(p.GetRecordedDate()),
		EntryLag: int(p.GetEntryLag()), HasEntryLag: p.EntryLag != nil}
}

func dispositionToProto(d clinical.Disposition) *v1.Disposition {
	return &v1.Disposition{Usubjid: d.USUBJID, Seq: int32(d.Seq), Term: d.Term, DecodedTerm: d.Decoded, Category: d.Category,
		Epoch: d.Epoch, StartDate: string(d.Start)}
}

func dispositionFromProto(study string, p *v1.Disposition) clinical.Disposition {
	return clinical.Disposition{Study: study, USUBJID: p.GetUsubjid(), Seq: int(p.GetSeq()), Term: p.GetTerm(),
		Decoded: p.GetDecodedTerm(), Category: p.GetCategory(), Epoch: p.GetEpoch(), Start: clinical.Date(p.GetStartDate())}
}

func conMedToProto(c clinical.ConMed) *v1.ConMed {
	return &v1.ConMed{Usubjid: c.USUBJID, Seq: int32(c.Seq), Term: c.Term, DecodedTerm: c.Decoded,
		StartDate: string(c.Start), EndDate: string(c.End)}
}

func conMedFromProto(study string, p *v1.ConMed) clinical.ConMed {
	return clinical.ConMed{Study: study, USUBJID: p.GetUsubjid(), Seq: int(p.GetSeq()), Term: p.GetTerm(),
		Decoded: p.GetDecodedTerm(), Start: clinical.Date(p.GetStartDate()), End: clinical.Date(p.GetEndDate())}
}

// convertAll converts every item with conv.
func convertAll[T, P any](items []T, conv func(T) P) []P {
	out := make([]P, len(items))
	for i, v := range items {
		out[i] = conv(v)
	}
	return out
}
