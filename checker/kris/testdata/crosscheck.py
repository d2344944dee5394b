#!/usr/bin/env python3
"""Cross-check of the pilot's site KRIs, written apart from the Go code.

Reads the CDISC pilot's SDTM files (DM, DS, AE, LB as CSV, gzipped, from
pilotdata/cdiscpilot01) and computes, per site, each KRI's numerator and
denominator from the SDTM variables as the README's mapping states, then
gsm.core's normal approximation (mu, phi, z), gsm's flags with its
thresholds and minimum denominators, and gsm.kri's site risk score.

kri0005 (grade >= 3 labs) and tw0001-tw0003 (late SAEs, unreconciled
grade >= 3 labs, findings open > 30 days) rest on CTCAE grading and on the
clinical rules; their numerators and denominators are taken from the Go
output (pilot-kris.csv), and only their statistics are recomputed here.

Usage: python3 crosscheck.py [PILOT_DIR] > pilot-crosscheck.csv
Standard library only.
"""
import csv
import datetime
import gzip
import io
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PILOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "pilotdata", "cdiscpilot01")
STORED = datetime.date(2026, 12, 1)  # when every record counts as first stored

# id: (model, thresholds, flags, weights, minimum denominator), from gsm.kri's
# metric YAMLs and its SiteRiskScore weights; tw* are trialwatch's own.
TWO = [-2, -1, 0, 1, 2]
UP = [0, 1, 2]
SPECS = {
    "kri0001": ("rate", [-2, -1, 2, 3], TWO, [32, 16, 0, 1, 2], 30),
    "kri0002": ("rate", [-2, -1, 2, 3], TWO, [8, 0, 0, 4, 8], 30),
    "kri0005": ("binary", [2, 3], UP, [0, 1, 2], 30),
    "kri0006": ("binary", [2, 3], UP, [0, 16, 32], 3),
    "kri0007": ("binary", [2, 3], UP, [0, 16, 32], 3),
    "kri0010": ("binary", [2, 3], UP, [0, 1, 2], 30),
    "kri0012": ("binary", [-3, -2, 2, 3], TWO, [0, 0, 0, 8, 16], 3),
    "kri0015": ("identity", [1, 2], UP, [0, 8, 16], 1),
    "tw0001": ("binary", [2, 3], UP, [0, 4, 8], 3),
    "tw0002": ("binary", [2, 3], UP, [0, 1, 2], 3),
    "tw0003": ("binary", [2, 3], UP, [0, 1, 2], 10),
}
FROM_GO = ["kri0005", "tw0001", "tw0002", "tw0003"]
QTLS = {"kri0006": 0.30}


def rows(domain):
    with gzip.open(os.path.join(PILOT, domain + ".csv.gz"), "rt", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def val(r, k):
    v = r.get(k, "")
    return "" if v == "NA" else v


def day(s):
    s = s or ""
    if len(s) < 10:
        return None
    return datetime.date.fromisoformat(s[:10])


dm, ds, ae, lb = rows("dm"), rows("ds"), rows("ae"), rows("lb")
site = {r["USUBJID"]: val(r, "SITEID") for r in dm}
sites = sorted(set(site.values()), key=lambda s: (len(s), s) if s.isdigit() else (1 << 30, s))
randomized = {}
for r in ds:
    if val(r, "DSDECOD") == "RANDOMIZED":
        randomized.setdefault(r["USUBJID"], val(r, "DSSTDTC"))
enrolled = set(randomized)
discontinued = {r["USUBJID"] for r in ds
                if val(r, "DSCAT") == "DISPOSITION EVENT" and val(r, "DSDECOD") != "COMPLETED" and r["USUBJID"] in enrolled}

counts = {k: {s: [0.0, 0.0] for s in sites} for k in SPECS}


def add(k, subj, num, den):
    c = counts[k][site[subj]]
    c[0] += num
    c[1] += den


for r in dm:
    u = r["USUBJID"]
    add("kri0012", u, 0 if u in enrolled else 1, 1)
    if u not in enrolled:
        continue
    a, b = day(val(r, "RFSTDTC")), day(val(r, "RFENDTC"))
    days = (b - a).days + 1 if a and b and b >= a else 0
    add("kri0001", u, 0, days)
    add("kri0002", u, 0, days)
    add("kri0006", u, 1 if u in discontinued else 0, 1)
    add("kri0007", u, 1 if u in discontinued else 0, 1)  # the pilot's DS has no EPOCH
    rd, dd = day(randomized[u]) or a, day(val(r, "DTHDTC"))
    died = rd is not None and dd is not None and dd >= rd and (dd - rd).days + 1 <= 90
    add("kri0015", u, 1 if died else 0, 1)
for r in ae:
    u = r["USUBJID"]
    if u not in enrolled:
        continue
    add("kri0001", u, 1, 0)
    if val(r, "AESER") == "Y":
        add("kri0002", u, 1, 0)
    d = day(val(r, "AESTDTC"))
    if d:
        add("kri0010", u, 1 if (STORED - d).days > 10 else 0, 1)
for r in lb:
    u = r["USUBJID"]
    d = day(val(r, "LBDTC"))
    if u in enrolled and d:
        add("kri0010", u, 1 if (STORED - d).days > 10 else 0, 1)

with open(os.path.join(HERE, "pilot-kris.csv"), encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if r["kri"] in FROM_GO:
            counts[r["kri"]][r["site"]] = [float(r["numerator"]), float(r["denominator"])]


def analyze(k):
    model, th, flags, _, mind = SPECS[k]
    c = counts[k]
    live = [s for s in sites if c[s][1] > 0]
    num, den = sum(c[s][0] for s in live), sum(c[s][1] for s in live)
    mu = num / den if den else 0.0
    var = mu * (1 - mu) if model == "binary" else mu
    metric = {s: (c[s][0] / c[s][1] if c[s][1] > 0 else 0.0) for s in sites}
    if model != "identity" and var > 0:
        phi = sum(((metric[s] - mu) / math.sqrt(var / c[s][1])) ** 2 for s in live) / len(live)
    else:
        phi = 0.0
    out = {}
    for s in sites:
        n, d = c[s]
        if model == "identity":
            z = n
        elif d > 0 and var > 0 and phi > 0:
            z = (metric[s] - mu) / math.sqrt(phi * var / d)
        else:
            z = 0.0
        scored = d > 0 and d >= mind
        flag = flags[sum(1 for t in th if t <= z)] if scored else None
        out[s] = (n, d, metric[s], z if scored else None, flag)
    return out, mu


w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["kri", "site", "numerator", "denominator", "metric", "score", "flag"])
fmt = "{:.6f}".format
risk = {s: [0.0, 0.0] for s in sites}
overall = {}
for k in SPECS:
    res, overall[k] = analyze(k)
    _, _, flags, weights, _ = SPECS[k]
    for s in sites:
        n, d, m, z, f = res[s]
        w.writerow([k, s, fmt(n), fmt(d), fmt(m), "" if z is None else fmt(z), "" if f is None else f])
        if f is not None:
            risk[s][0] += weights[flags.index(f)]
            risk[s][1] += max(weights)
for s in sites:
    raw, mx = risk[s]
    w.writerow(["srs0001", s, fmt(raw), fmt(mx), fmt(raw / mx * 100 if mx else 0), "", ""])
for k, limit in QTLS.items():
    n = sum(counts[k][s][0] for s in sites)
    d = sum(counts[k][s][1] for s in sites)
    w.writerow(["qtl:" + k, "", fmt(n), fmt(d), fmt(n / d), fmt(limit), 1 if n / d > limit else 0])
