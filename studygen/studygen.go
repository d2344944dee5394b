// Package studygen writes synthetic studies: DM and LB in the CDISC
// pilot's SDTM CSV layout, large enough to measure an import, with
// realistic lab values in the units trialwatch knows, most within their
// normal range and some out. The same options write the same files.
package studygen

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Options say what study to write; zero fields take the defaults.
type Options struct {
	Subjects       int    // DM rows; default 1000
	LabsPerSubject int    // LB rows per subject; default 100
	Study          string // STUDYID; default GEN01
	Seed           uint64 // random seed; the same seed writes the same files
	Gzip           bool   // write dm.csv.gz and lb.csv.gz
}

// Defaults of Options.
const (
	DefaultSubjects       = 1000
	DefaultLabsPerSubject = 100
	DefaultStudy          = "GEN01"
)

func (o Options) withDefaults() Options {
	if o.Subjects == 0 {
		o.Subjects = DefaultSubjects
	}
	if o.LabsPerSubject == 0 {
		o.LabsPerSubject = DefaultLabsPerSubject
	}
	if o.Study == "" {
		o.Study = DefaultStudy
	}
	return o
}

// labTest is one lab test: its standard unit and normal range.
type labTest struct {
	code, name, cat, unit string
	lo, hi                float64
	decimals              int
}

var labTests = []labTest{
	{"ALT", "Alanine Aminotransferase", "CHEMISTRY", "U/L", 6, 34, 0},
	{"AST", "Aspartate Aminotransferase", "CHEMISTRY", "U/L", 10, 36, 0},
	{"ALP", "Alkaline Phosphatase", "CHEMISTRY", "U/L", 35, 115, 0},
	{"BILI", "Bilirubin", "CHEMISTRY", "umol/L", 3.42, 20.52, 2},
	{"CREAT", "Creatinine", "CHEMISTRY", "umol/L", 44.2, 133, 1},
	{"ALB", "Albumin", "CHEMISTRY", "g/L", 33, 49, 0},
	{"GLUC", "Glucose", "CHEMISTRY", "mmol/L", 3.9, 6.4, 2},
	{"K", "Potassium", "CHEMISTRY", "mmol/L", 3.4, 5.4, 1},
	{"SODIUM", "Sodium", "CHEMISTRY", "mmol/L", 132, 147, 0},
	{"HGB", "Hemoglobin", "HEMATOLOGY", "mmol/L", 7.4, 10.2, 2},
	{"WBC", "Leukocytes", "HEMATOLOGY", "10^9/L", 3.8, 10.7, 2},
	{"PLAT", "Platelet", "HEMATOLOGY", "10^9/L", 140, 400, 0},
}

const lbHeader = `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBTEST","LBCAT","LBORRES","LBORRESU","LBORNRLO","LBORNRHI","LBSTRESC","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBNRIND","LBBLFL","VISITNUM","VISIT","VISITDY","LBDTC","LBDY"`

const dmHeader = `"STUDYID","DOMAIN","USUBJID","SUBJID","RFSTDTC","RFENDTC","RFXSTDTC","RFXENDTC","RFICDTC","RFPENDTC","DTHDTC","DTHFL","SITEID","AGE","AGEU","SEX","ARMCD","ARM","COUNTRY"`

// Write writes the study's DM and LB into dir, made if missing, and
// returns their paths.
func Write(dir string, o Options) (dmPath, lbPath string, err error) {
	o = o.withDefaults()
	if o.Subjects < 1 || o.LabsPerSubject < 1 {
		return "", "", fmt.Errorf("studygen: %d subjects with %d lab results each: want at least one of each", o.Subjects, o.LabsPerSubject)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	ext := ".csv"
	if o.Gzip {
		ext += ".gz"
	}
	dmPath, lbPath = filepath.Join(dir, "dm"+ext), filepath.Join(dir, "lb"+ext)
	dm, err := create(dmPath, o.Gzip)
	if err != nil {
		return "", "", err
	}
	lb, err := create(lbPath, o.Gzip)
	if err != nil {
		dm.Close()
		return "", "", err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7472))
	epoch := time.Date(2020, 1, 6, 0, 0, 0, 0, time.UTC)
	weeks := (o.LabsPerSubject + len(labTests) - 1) / len(labTests)
	fmt.Fprintln(dm, dmHeader)
	fmt.Fprintln(lb, lbHeader)
	var buf []byte
	arms := [][2]string{{"Pbo", "Placebo"}, {"Xan_Lo", "Xanomeline Low Dose"}, {"Xan_Hi", "Xanomeline High Dose"}}
	for s := range o.Subjects {
		site := strconv.Itoa(700 + s%50)
		id := o.Study + "-" + site + "-" + fmt.Sprintf("%06d", s+1)
		first := epoch.AddDate(0, 0, s%730)
		last := first.AddDate(0, 0, 7*weeks)
		arm := arms[s%len(arms)]
		sex := "F"
		if rng.IntN(2) == 0 {
			sex = "M"
		}
		buf = buf[:0]
		buf = appendQ(buf, o.Study, "DM", id, strconv.Itoa(s+1), day(first), day(last), day(first), day(last),
			day(first.AddDate(0, 0, -14)), day(last.AddDate(0, 0, 14)))
		buf = append(buf, ",NA,NA"...)
		buf = append(buf, ',')
		buf = appendQ(buf, site)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(18+rng.IntN(68)), 10)
		buf = append(buf, ',')
		buf = appendQ(buf, "YEARS", sex, arm[0], arm[1], "USA")
		buf = append(buf, '\n')
		if _, err := dm.Write(buf); err != nil {
			lb.Close()
			dm.Close()
			return "", "", err
		}
		for i := range o.LabsPerSubject {
			t := labTests[i%len(labTests)]
			visit := i / len(labTests)
			value, ind := draw(rng, t)
			dy := 7*visit - 7
			if visit == 0 {
				dy = -7
			}
			date := first.AddDate(0, 0, dy)
			v := strconv.FormatFloat(value, 'f', t.decimals, 64)
			lo, hi := strconv.FormatFloat(t.lo, 'f', -1, 64), strconv.FormatFloat(t.hi, 'f', -1, 64)
			buf = buf[:0]
			buf = appendQ(buf, o.Study, "LB", id)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(i+1), 10)
			buf = append(buf, ',')
			buf = appendQ(buf, t.code, t.name, t.cat, v, t.unit, lo, hi, v)
			buf = append(buf, ',')
			buf = append(buf, v...)
			buf = append(buf, ',')
			buf = appendQ(buf, t.unit)
			buf = append(buf, ',')
			buf = append(buf, lo...)
			buf = append(buf, ',')
			buf = append(buf, hi...)
			buf = append(buf, ',')
			bl := ""
			if visit == 0 {
				bl = "Y"
			}
			buf = appendQ(buf, ind, bl)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(visit+1), 10)
			buf = append(buf, ',')
			name := "SCREENING 1"
			if visit > 0 {
				name = "WEEK " + strconv.Itoa(visit)
			}
			buf = appendQ(buf, name)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(dy), 10)
			buf = append(buf, ',')
			buf = append(buf, '"')
			buf = date.AppendFormat(buf, "2006-01-02")
			buf = append(buf, "T08:"...)
			buf = append(buf, byte('0'+i%60/10), byte('0'+i%10), '"')
			buf = append(buf, ',')
			if dy >= 0 {
				dy++ // SDTM study days skip day 0
			}
			buf = strconv.AppendInt(buf, int64(dy), 10)
			buf = append(buf, '\n')
			if _, err := lb.Write(buf); err != nil {
				lb.Close()
				dm.Close()
				return "", "", err
			}
		}
	}
	if err := dm.Close(); err != nil {
		lb.Close()
		return "", "", err
	}
	return dmPath, lbPath, lb.Close()
}

// draw draws a result: mostly within the normal range, about one in
// twelve above it (some far above, as liver tests in a hepatotoxicity
// signal) and one in fifty below.
func draw(rng *rand.Rand, t labTest) (float64, string) {
	width := t.hi - t.lo
	switch p := rng.Float64(); {
	case p < 0.02:
		return t.lo * (0.5 + 0.45*rng.Float64()), "LOW"
	case p < 0.10:
		f := 1.05 + 0.95*rng.Float64()
		if rng.IntN(10) == 0 {
			f = 3 + 7*rng.Float64()
		}
		return t.hi * f, "HIGH"
	}
	return t.lo + width*(0.05+0.9*rng.Float64()), "NORMAL"
}

func day(t time.Time) string { return t.Format("2006-01-02") }

// appendQ appends quoted, comma-separated values ("" as an empty cell).
func appendQ(buf []byte, vals ...string) []byte {
	for i, v := range vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		if v != "" { // none of the values written holds a quote
			buf = append(buf, '"')
			buf = append(buf, v...)
			buf = append(buf, '"')
		}
	}
	return buf
}

// file is a buffered, optionally gzip-compressed output file.
type file struct {
	f  *os.File
	zw *gzip.Writer
	*bufio.Writer
}

func create(path string, zip bool) (*file, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	g := &file{f: f}
	var w io.Writer = f
	if zip {
		g.zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = g.zw
	}
	g.Writer = bufio.NewWriterSize(w, 1<<20)
	return g, nil
}

func (g *file) Close() error {
	err := g.Flush()
	if g.zw != nil {
		if e := g.zw.Close(); err == nil {
			err = e
		}
	}
	if e := g.f.Close(); err == nil {
		err = e
	}
	return err
}
