package sdtm

import (
	"fmt"
	"strconv"
)

// CheckSubjects reports the EX, AE, LB, CM and DS records whose USUBJID is
// neither a subject of the batch's DM nor known, by where they were read
// (up to the same limit as a read). known is asked once per unknown
// USUBJID, typically to look the subject up in the database; nil knows
// no one.
func (b *Batch) CheckSubjects(known func(usubjid string) bool) Errors {
	var errs Errors
	b.EachUnknownSubject(known, func(e *Error, _ string) bool {
		errs = append(errs, e)
		if len(errs) == maxErrors {
			errs = append(errs, &Error{Msg: "too many records of unknown subjects; stopped checking"})
			return false
		}
		return true
	})
	return errs
}

// EachUnknownSubject is CheckSubjects without a limit, for a caller that
// counts or groups the records: it calls report with each record of an
// unknown subject, and its USUBJID, until report returns false.
func (b *Batch) EachUnknownSubject(known func(usubjid string) bool, report func(e *Error, usubjid string) bool) {
	inBatch := make(map[string]bool, len(b.Subjects))
	for _, s := range b.Subjects {
		inBatch[s.USUBJID] = true
	}
	asked := map[string]bool{}
	isKnown := func(id string) bool {
		if inBatch[id] {
			return true
		}
		k, ok := asked[id]
		if !ok {
			k = known != nil && known(id)
			asked[id] = k
		}
		return k
	}
	check := func(domain string, n int, id func(int) string) bool {
		loc := b.locator(domain)
		for i := range n {
			if isKnown(id(i)) {
				continue
			}
			e := loc(i)
			e.Column, e.Msg = "USUBJID", fmt.Sprintf("subject %q is neither in DM nor known to the study", id(i))
			if !report(e, id(i)) {
				return false
			}
		}
		return true
	}
	_ = check("EX", len(b.Doses), func(i int) string { return b.Doses[i].USUBJID }) &&
		check("AE", len(b.Events), func(i int) string { return b.Events[i].USUBJID }) &&
		check("LB", len(b.Labs), func(i int) string { return b.Labs[i].USUBJID }) &&
		check("CM", len(b.ConMeds), func(i int) string { return b.ConMeds[i].USUBJID }) &&
		check("DS", len(b.Dispositions), func(i int) string { return b.Dispositions[i].USUBJID })
}

// locator returns where the domain's i-th record was read, or names the
// record by domain and index when it was not read by this package.
func (b *Batch) locator(domain string) func(i int) *Error {
	var spans []span
	for _, s := range b.spans {
		if s.domain == domain {
			spans = append(spans, s)
		}
	}
	return func(i int) *Error {
		for _, s := range spans {
			if j := i - s.from; j >= 0 && j < len(s.at) {
				if s.lines {
					return &Error{File: s.file, Line: int(s.at[j])}
				}
				return &Error{File: s.file, Row: int(s.at[j])}
			}
		}
		return &Error{File: domain + " record " + strconv.Itoa(i+1)}
	}
}

// CheckSites reports the DM records whose SITEID allowed refuses, by where
// they were read (up to the same limit as a read): an upload limited to
// some sites may not bring subjects of others. who says whose limit it is,
// for the message.
func (b *Batch) CheckSites(allowed func(site string) bool, who string) Errors {
	var errs Errors
	loc := b.locator("DM")
	for i, s := range b.Subjects {
		if allowed(s.Site) {
			continue
		}
		e := loc(i)
		e.Column, e.Msg = "SITEID", fmt.Sprintf("site %q: %s", s.Site, who)
		errs = append(errs, e)
		if len(errs) == maxErrors {
			errs = append(errs, &Error{Msg: "too many records of other sites; stopped checking"})
			break
		}
	}
	return errs
}

// CheckTaken reports the DM records of subjects stored at a site allowed
// refuses, by where they were read (up to the same limit as a read): an
// upload limited to some sites may neither move another site's subject
// to its own nor rewrite it. storedAt says where a subject is stored, ok
// false when it is not.
func (b *Batch) CheckTaken(storedAt func(usubjid string) (site string, ok bool), allowed func(site string) bool, who string) Errors {
	var errs Errors
	loc := b.locator("DM")
	for i, s := range b.Subjects {
		if site, ok := storedAt(s.USUBJID); !ok || allowed(site) {
			continue
		}
		e := loc(i)
		e.Column, e.Msg = "USUBJID", fmt.Sprintf("subject %q cannot be written: %s", s.USUBJID, who)
		errs = append(errs, e)
		if len(errs) == maxErrors {
			errs = append(errs, &Error{Msg: "too many records of other sites' subjects; stopped checking"})
			break
		}
	}
	return errs
}
