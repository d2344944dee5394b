#!/usr/bin/env python3
"""Grades of the CDISC pilot LB by pharmaverse admiral's CTCAE metadata.

An implementation written apart from the Go package: it applies the grade
conditions of admiral's public grading metadata (pharmaverse/admiral,
data-raw/adlb_grading/ncictcaev5.json and ncictcaev6.json, the
GRADE_NA_CODE and GRADE_1_CODE ... GRADE_4_CODE of each term, and
ncictcaev4.json and DAIDS.json likewise, transcribed
below as Python with admiral's evaluation order: not gradable first, then
grade 4 down to 1, else 0) to the pilot's lab results, for the terms the
pilot's tests map to. Like admiral it takes the worst case where CTCAE
needs symptoms (hypokalemia, hyponatremia, hyperuricemia).

The inputs are derived as ADaM would from SDTM, with the same conventions
as trialwatch so that the comparison isolates the criteria:
  AVAL   LBSTRESN (hemoglobin mmol/L converted to g/L, x 16.11, since
         admiral's anemia and hemoglobin-increased terms take g/L; total
         calcium corrected for the albumin of the same draw by Payne's
         formula, Ca + 0.02 x (40 - albumin g/L), since admiral's calcium
         terms are for corrected calcium)
  ANRLO, ANRHI   LBSTNRLO, LBSTNRHI (hemoglobin's also in g/L)
  BASE   the LBBLFL=Y record of the test, else the last value on or before
         the first dose (RFXSTDTC), compared by date
  BNRIND HIGH or LOW when the baseline value is above or below its own range

For DAIDS v2.1 (admiral's DAIDS.json) it grades the adult subgroups
(every pilot subject is 50 or older), hemoglobin by SEX, total calcium as
measured, and glucose by the nonfasting term.

Usage: python3 admiral_crosscheck.py VERSION [PILOT_DIR] | gzip -n > admiral-VERSION.csv.gz
where VERSION is v4.03, v5.0, v6.0 or daids-v2.1. Writes USUBJID,LBSEQ,TERM,GRADE (GRADE NA
when admiral's conditions leave the record ungraded). Standard library only.
"""
import csv
import gzip
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = sys.argv[1] if len(sys.argv) > 1 else "v5.0"
PILOT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "..", "pilotdata", "cdiscpilot01")


def rows(domain):
    with gzip.open(os.path.join(PILOT, domain + ".csv.gz"), "rt", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(s):
    return None if s in ("", "NA") else float(s)


def signif(x):
    # admiral compares signif(x, signif_dig), signif_dig 15 by default.
    return float("%.15g" % x)


class R:
    """One record's ADaM variables."""

    def __init__(self, aval, lo, hi, base, bnrind):
        self.a, self.lo, self.hi, self.b, self.bnrind = aval, lo, hi, base, bnrind

    def gt(self, k, ref=1.0):
        return ref is not None and signif(self.a) > signif(k * ref)

    def ge(self, k, ref=1.0):
        return ref is not None and signif(self.a) >= signif(k * ref)

    def lt(self, k, ref=1.0):
        return ref is not None and signif(self.a) < signif(k * ref)

    def le(self, k, ref=1.0):
        return ref is not None and signif(self.a) <= signif(k * ref)


NA = "NA"


def grade(r, na, conditions):
    """admiral's case_when: NA conditions, grade 4 ... 1, else "0".
    conditions is a list of (grade, test); a grade of NA marks a test that
    makes the record ungraded at that point (e.g. "is.na(ANRLO) ~ NA")."""
    if r.a is None or na(r):
        return NA
    for g, test in conditions:
        if test(r):
            return g
    return "0"


none = lambda r: False
no_hi = lambda r: r.hi is None
no_lo = lambda r: r.lo is None
high = lambda r: r.bnrind == "HIGH"
low = lambda r: r.bnrind == "LOW"


def uln_multiples(ks):
    """">k x ULN" for grades 4 down to 1 (NA when ULN is missing)."""
    return no_hi, [(str(g), (lambda k: lambda r: r.gt(k, r.hi))(k)) for g, k in ks]


def liver(uln_ks, base_ks, g1_base):
    """Grades 4..2 above multiples of ULN (baseline normal) or of BASE
    (baseline HIGH); grade 1 above ULN, or g1_base(r) when HIGH."""
    conds = []
    for g, (ku, kb) in zip("432", zip(uln_ks, base_ks)):
        conds.append((g, (lambda ku, kb: lambda r: (not high(r) and r.gt(ku, r.hi)) or (high(r) and r.gt(kb, r.b)))(ku, kb)))
    conds.append(("1", lambda r: (not high(r) and r.gt(1, r.hi)) or (high(r) and g1_base(r))))
    return no_hi, conds


def low_abs(ks, lln_grade="1"):
    """"<k" absolute for the grades given, then below LLN (NA without one)."""
    conds = [(str(g), (lambda k: lambda r: r.lt(k))(k)) for g, k in ks]
    conds += [(NA, no_lo), (lln_grade, lambda r: r.lt(1, r.lo))]
    return none, conds


def high_abs(ks):
    conds = [(str(g), (lambda k: lambda r: r.gt(k))(k)) for g, k in ks]
    conds += [(NA, no_hi), ("1", lambda r: r.gt(1, r.hi))]
    return none, conds


V5 = {
    "Alanine aminotransferase increased": liver([20, 5, 3], [20, 5, 3], lambda r: r.ge(1.5, r.b)),
    "Aspartate aminotransferase increased": liver([20, 5, 3], [20, 5, 3], lambda r: r.ge(1.5, r.b)),
    "Alkaline phosphatase increased": liver([20, 5, 2.5], [20, 5, 2.5], lambda r: r.ge(2, r.b)),
    # admiral's GGT grade 1 against an abnormal baseline is ">", ALP's ">=".
    "GGT increased": liver([20, 5, 2.5], [20, 5, 2.5], lambda r: r.gt(2, r.b)),
    "Blood bilirubin increased": liver([10, 3, 1.5], [10, 3, 1.5], lambda r: r.gt(1, r.b)),
    "Creatinine increased": (none, [
        ("4", lambda r: r.hi is not None and r.gt(6, r.hi)),
        ("3", lambda r: (r.hi is not None and r.gt(3, r.hi)) or (r.b is not None and r.gt(3, r.b))),
        ("2", lambda r: (r.hi is not None and r.gt(1.5, r.hi)) or (r.b is not None and r.gt(1.5, r.b))),
        (NA, no_hi), ("1", lambda r: r.gt(1, r.hi))]),
    "CPK increased": uln_multiples([(4, 10), (3, 5), (2, 2.5), (1, 1)]),
    "Hypoalbuminemia": low_abs([(3, 20), (2, 30)]),
    "Anemia": low_abs([(3, 80), (2, 100)]),
    "Hemoglobin increased": (no_hi, [("3", lambda r: signif(r.a) > signif(r.hi + 40)),
                                     ("2", lambda r: signif(r.a) > signif(r.hi + 20)),
                                     ("1", lambda r: r.gt(1, r.hi))]),
    "Platelet count decreased": low_abs([(4, 25), (3, 50), (2, 75)]),
    "White blood cell decreased": low_abs([(4, 1), (3, 2), (2, 3)]),
    "Leukocytosis": (none, [("3", lambda r: r.gt(100))]),
    "Lymphocyte count decreased": low_abs([(4, 0.2), (3, 0.5), (2, 0.8)]),
    "Lymphocyte count increased": (none, [("3", lambda r: r.gt(20)), ("2", lambda r: r.gt(4))]),
    # Worst case: symptomatic.
    "Hypokalemia": low_abs([(4, 2.5), (3, 3)], lln_grade="2"),
    "Hyperkalemia": high_abs([(4, 7), (3, 6), (2, 5.5)]),
    "Hyponatremia": (none, [("4", lambda r: r.lt(120)), ("3", lambda r: r.le(129)),
                            (NA, no_lo), ("1", lambda r: r.lt(1, r.lo))]),
    "Hypernatremia": high_abs([(4, 160), (3, 155), (2, 150)]),
    "Hypocalcemia": low_abs([(4, 1.5), (3, 1.75), (2, 2)]),
    "Hypercalcemia": high_abs([(4, 3.4), (3, 3.1), (2, 2.9)]),
    "Hypoglycemia": low_abs([(4, 1.7), (3, 2.2), (2, 3)]),
    "Cholesterol high": high_abs([(4, 12.92), (3, 10.34), (2, 7.75)]),
    # Worst case: with physiologic consequences.
    "Hyperuricemia": (no_hi, [("3", lambda r: r.gt(1, r.hi))]),
}

# v4.03 (admiral's ncictcaev4.json): no grading against an abnormal baseline
# for the liver tests; creatinine and hemoglobin increased against baseline.
V4 = {t: V5[t] for t in ("CPK increased", "Hypoalbuminemia", "Anemia", "Platelet count decreased",
                         "White blood cell decreased", "Leukocytosis", "Lymphocyte count decreased",
                         "Lymphocyte count increased", "Hypokalemia", "Hyperkalemia", "Hypernatremia",
                         "Hypocalcemia", "Hypercalcemia", "Hypoglycemia", "Cholesterol high")}
V4.update({
    "Alanine aminotransferase increased": uln_multiples([(4, 20), (3, 5), (2, 3), (1, 1)]),
    "Aspartate aminotransferase increased": uln_multiples([(4, 20), (3, 5), (2, 3), (1, 1)]),
    "Alkaline phosphatase increased": uln_multiples([(4, 20), (3, 5), (2, 2.5), (1, 1)]),
    "GGT increased": uln_multiples([(4, 20), (3, 5), (2, 2.5), (1, 1)]),
    "Blood bilirubin increased": uln_multiples([(4, 10), (3, 3), (2, 1.5), (1, 1)]),
    "Creatinine increased": (none, [
        ("4", lambda r: r.hi is not None and r.gt(6, r.hi)),
        ("3", lambda r: (r.hi is not None and r.gt(3, r.hi)) or (r.b is not None and r.gt(3, r.b))),
        ("2", lambda r: (r.hi is not None and r.gt(1.5, r.hi)) or (r.b is not None and r.gt(1.5, r.b))),
        ("1", lambda r: (r.hi is not None and r.gt(1, r.hi)) or (r.b is not None and r.gt(1, r.b))),
        (NA, lambda r: r.hi is None or r.b is None)]),
    # Above ULN, or above the baseline when the baseline was above ULN.
    "Hemoglobin increased": (no_hi, [(g, (lambda k: lambda r: signif(r.a) > signif(
        (r.b if r.b is not None and signif(r.b) > signif(r.hi) else r.hi) + k))(k)) for g, k in (("3", 40), ("2", 20), ("1", 0))]),
    "Hyponatremia": (none, [("4", lambda r: r.lt(120)), ("3", lambda r: r.lt(130)),
                            (NA, no_lo), ("1", lambda r: r.lt(1, r.lo))]),
    # The non-fasting term: grades 3 and 4 only.
    "Hyperglycemia": (none, [("4", lambda r: r.gt(27.8)), ("3", lambda r: r.gt(13.9))]),
    "Hypophosphatemia": low_abs([(4, 0.3), (3, 0.6), (2, 0.8)]),
    # Worst case: with physiologic consequences; grade 4 above 590 umol/L.
    "Hyperuricemia": (none, [("4", lambda r: r.gt(590)), (NA, no_hi), ("3", lambda r: r.gt(1, r.hi))]),
})

V6 = dict(V5)
for t in ("CPK increased", "Lymphocyte count decreased", "Platelet count decreased"):
    del V6[t]
V6.update({
    "Alanine aminotransferase increased": liver([20, 5, 3], [4, 2, 1.5], lambda r: r.ge(1, r.b)),
    "Aspartate aminotransferase increased": liver([20, 5, 3], [4, 2, 1.5], lambda r: r.ge(1, r.b)),
    "GGT increased": liver([20, 5, 2.5], [10, 3, 1.5], lambda r: r.ge(1, r.b)),
    "Blood bilirubin increased": liver([10, 3, 1.5], [10, 2.5, 1.5], lambda r: r.ge(1, r.b)),
    "Alkaline phosphatase increased": (
        lambda r: (r.hi is None and r.b is None) or (r.hi is None and r.a > r.b) or (r.b is None and r.a > r.hi),
        [("1", lambda r: r.b is not None and r.gt(1, r.b) and r.hi is not None and r.gt(1, r.hi))]),
    "Creatinine increased": (none, [
        ("4", lambda r: r.hi is not None and r.gt(6, r.hi)),
        ("3", lambda r: (not low(r) and r.hi is not None and r.gt(3, r.hi)) or (low(r) and r.gt(3, r.b))),
        ("2", lambda r: (not low(r) and r.hi is not None and r.gt(1.5, r.hi)) or (low(r) and r.gt(1.5, r.b))),
        (NA, no_hi), ("1", lambda r: r.gt(1, r.hi))]),
    "Thrombocytopenia": low_abs([(4, 10), (3, 50), (2, 75)]),
    # The non-fasting term: grades 3 and 4 only.
    "Hyperglycemia": (none, [("4", lambda r: r.gt(27.8)), ("3", lambda r: r.gt(13.9))]),
    "Hyponatremia": (none, [("4", lambda r: r.lt(120)), ("3", lambda r: r.lt(130)),
                            (NA, no_lo), ("1", lambda r: r.lt(1, r.lo))]),
})


def from_uln(ks):
    """DAIDS's "k to < ..." x ULN: grades 4 down to 1 from each multiple."""
    return no_hi, [(str(g), (lambda k: lambda r: r.ge(k, r.hi))(k)) for g, k in ks]


def at_least(ks):
    return none, [(str(g), (lambda k: lambda r: r.ge(k))(k)) for g, k in ks]


def below(ks):
    return none, [(str(g), (lambda k: lambda r: r.lt(k))(k)) for g, k in ks]


# DAIDS v2.1 (admiral's DAIDS.json), the adult subgroups (every pilot
# subject is 50 or older); hemoglobin by sex.
DAIDS = {
    "ALT, High": from_uln([(4, 10), (3, 5), (2, 2.5), (1, 1.25)]),
    "AST, High": from_uln([(4, 10), (3, 5), (2, 2.5), (1, 1.25)]),
    "Alkaline Phosphatase, High": from_uln([(4, 10), (3, 5), (2, 2.5), (1, 1.25)]),
    "Total Bilirubin, High": from_uln([(4, 5), (3, 2.6), (2, 1.6), (1, 1.1)]),
    "Creatine Kinase, High": from_uln([(4, 20), (3, 10), (2, 6), (1, 3)]),
    "Albumin, Low": low_abs([(3, 20), (2, 30)]),
    "Calcium, High": at_least([(4, 3.38), (3, 3.13), (2, 2.88), (1, 2.65)]),
    "Calcium, Low": below([(4, 1.53), (3, 1.75), (2, 1.95), (1, 2.1)]),
    "Creatinine, High": (none, [
        ("4", lambda r: (r.hi is not None and r.ge(3.5, r.hi)) or (r.b is not None and r.ge(2, r.b))),
        ("3", lambda r: (r.hi is not None and r.gt(1.8, r.hi)) or (r.b is not None and r.ge(1.5, r.b))),
        ("2", lambda r: (r.hi is not None and r.gt(1.3, r.hi)) or (r.b is not None and r.ge(1.3, r.b))),
        (NA, no_hi), ("1", lambda r: r.ge(1.1, r.hi))]),
    # Compared with trialwatch's one glucose-high term, which grades by the
    # nonfasting cut-offs where the fasting ones could not differ.
    "Glucose, High": at_least([(4, 27.75), (3, 13.89), (2, 8.89), (1, 6.44)]),
    "Glucose, Low": below([(4, 1.67), (3, 2.22), (2, 3.05), (1, 3.55)]),
    "Cholesterol, Fasting, High": at_least([(3, 7.77), (2, 6.19), (1, 5.18)]),
    "Phosphate, Low": low_abs([(4, 0.32), (3, 0.45), (2, 0.65)]),
    "Potassium, High": at_least([(4, 7), (3, 6.5), (2, 6), (1, 5.6)]),
    "Potassium, Low": below([(4, 2), (3, 2.5), (2, 3), (1, 3.4)]),
    "Sodium, High": at_least([(4, 160), (3, 154), (2, 150), (1, 146)]),
    "Sodium, Low": (none, [("4", lambda r: r.le(120)), ("3", lambda r: r.lt(125)), ("2", lambda r: r.lt(130)), ("1", lambda r: r.lt(135))]),
    "Uric Acid, High": at_least([(4, 890), (3, 710), (2, 590), (1, 450)]),
    "Absolute Lymphocyte Count, Low": below([(4, 0.35), (3, 0.5), (2, 0.6), (1, 0.65)]),
    "Platelets, Decreased": below([(4, 25), (3, 50), (2, 100), (1, 125)]),
    "WBC, Decreased": below([(4, 1), (3, 1.5), (2, 2), (1, 2.5)]),
    "Hemoglobin, Low (M)": (none, [("4", lambda r: r.lt(70)), ("3", lambda r: r.lt(90)), ("2", lambda r: r.lt(100)), ("1", lambda r: r.le(109))]),
    "Hemoglobin, Low (F)": (none, [("4", lambda r: r.lt(65)), ("3", lambda r: r.lt(85)), ("2", lambda r: r.lt(95)), ("1", lambda r: r.le(104))]),
}

DAIDS_TERMS = {
    "ALT": ["ALT, High"], "AST": ["AST, High"], "ALP": ["Alkaline Phosphatase, High"], "BILI": ["Total Bilirubin, High"],
    "CK": ["Creatine Kinase, High"], "ALB": ["Albumin, Low"], "CA": ["Calcium, Low", "Calcium, High"],
    "CREAT": ["Creatinine, High"], "GLUC": ["Glucose, Low", "Glucose, High"], "CHOL": ["Cholesterol, Fasting, High"],
    "PHOS": ["Phosphate, Low"], "K": ["Potassium, Low", "Potassium, High"], "SODIUM": ["Sodium, Low", "Sodium, High"],
    "URATE": ["Uric Acid, High"], "LYM": ["Absolute Lymphocyte Count, Low"], "PLAT": ["Platelets, Decreased"],
    "WBC": ["WBC, Decreased"], "HGB": ["Hemoglobin, Low"],
}

# LBTESTCD -> the terms admiral grades it by, as admiral's ADLB template maps them.
TERMS = {
    "ALT": ["Alanine aminotransferase increased"], "AST": ["Aspartate aminotransferase increased"],
    "ALP": ["Alkaline phosphatase increased"], "GGT": ["GGT increased"], "BILI": ["Blood bilirubin increased"],
    "CREAT": ["Creatinine increased"], "CK": ["CPK increased"], "ALB": ["Hypoalbuminemia"],
    "HGB": ["Anemia", "Hemoglobin increased"], "PLAT": ["Platelet count decreased", "Thrombocytopenia"],
    "WBC": ["White blood cell decreased", "Leukocytosis"],
    "LYM": ["Lymphocyte count decreased", "Lymphocyte count increased"],
    "K": ["Hypokalemia", "Hyperkalemia"], "SODIUM": ["Hyponatremia", "Hypernatremia"],
    "CA": ["Hypocalcemia", "Hypercalcemia"], "GLUC": ["Hypoglycemia", "Hyperglycemia"], "PHOS": ["Hypophosphatemia"],
    "CHOL": ["Cholesterol high"], "URATE": ["Hyperuricemia"],
}


def main():
    criteria = {"v4.03": V4, "v5.0": V5, "v6.0": V6, "daids-v2.1": DAIDS}[VERSION]
    terms_of = DAIDS_TERMS if VERSION.startswith("daids") else TERMS
    dm = rows("dm")
    first_dose = {d["USUBJID"]: d["RFXSTDTC"] for d in dm}
    sex = {d["USUBJID"]: d["SEX"] for d in dm}
    labs = rows("lb")
    for l in labs:
        l["AVAL"], l["ANRLO"], l["ANRHI"] = num(l["LBSTRESN"]), num(l["LBSTNRLO"]), num(l["LBSTNRHI"])
        if l["LBTESTCD"] == "HGB" and l["LBSTRESU"] == "mmol/L":
            # mmol/L (of the monomer) to g/L
            l["AVAL"], l["ANRLO"], l["ANRHI"] = (None if v is None else v * 16.11 for v in (l["AVAL"], l["ANRLO"], l["ANRHI"]))
    albumin = {}
    for l in labs:
        if l["LBTESTCD"] == "ALB" and l["AVAL"] is not None and l["LBDTC"] not in ("", "NA"):
            albumin.setdefault((l["USUBJID"], l["LBDTC"]), l["AVAL"])
    for l in labs:
        if l["LBTESTCD"] == "CA" and l["AVAL"] is not None and not VERSION.startswith("daids"):
            alb = albumin.get((l["USUBJID"], l["LBDTC"]))
            l["AVAL"] = None if alb is None else l["AVAL"] + 0.02 * (40 - alb)
    # Baselines: the flagged record, else the last value on or before first dose.
    base = {}
    for l in labs:
        k = (l["USUBJID"], l["LBTESTCD"])
        if l["LBBLFL"] == "Y" and k not in base:
            base[k] = l
    for l in labs:
        k = (l["USUBJID"], l["LBTESTCD"])
        if k in base and base[k]["LBBLFL"] == "Y":
            continue
        dose, day = first_dose.get(l["USUBJID"], ""), l["LBDTC"][:10]
        if l["AVAL"] is None or dose in ("", "NA") or day in ("", "NA") or day > dose[:10]:
            continue
        if k not in base or base[k]["LBDTC"][:10] <= day:
            base[k] = l
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["USUBJID", "LBSEQ", "TERM", "GRADE"])
    for l in labs:
        terms = [t for t in terms_of.get(l["LBTESTCD"], []) if t in criteria or t == "Hemoglobin, Low"]
        if not terms:
            continue
        b = base.get((l["USUBJID"], l["LBTESTCD"]))
        bval = b["AVAL"] if b else None
        bnrind = ""
        if b and bval is not None:
            blo, bhi = b["ANRLO"], b["ANRHI"]
            if bhi is not None and bval > bhi:
                bnrind = "HIGH"
            elif blo is not None and bval < blo:
                bnrind = "LOW"
            else:
                bnrind = "NORMAL"
        r = R(l["AVAL"], l["ANRLO"], l["ANRHI"], bval, bnrind)
        for t in terms:
            na, conds = criteria[t if t != "Hemoglobin, Low" else "Hemoglobin, Low (%s)" % sex[l["USUBJID"]]]
            out.writerow([l["USUBJID"], l["LBSEQ"], t, grade(r, na, conds)])


if __name__ == "__main__":
    main()
