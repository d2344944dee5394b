package sdtm

import (
	"io"

	"github.com/trialwatch/trialwatch/sdtm/internal/csvfile"
	"github.com/trialwatch/trialwatch/sdtm/internal/datasetjson"
	"github.com/trialwatch/trialwatch/sdtm/internal/xptfile"
)

// ReadCSV reads one SDTM domain in CSV into b. The domain comes from the
// DOMAIN column. Every row's STUDYID must be study. R's NA and empty cells
// are missing values. Nothing is added to b unless the whole file is valid.
func ReadCSV(file string, r io.Reader, study string, b *Batch, opts ...Option) error {
	o := readOptions(opts)
	return read(file, csvfile.New(file, r, o.limits.bounds()), study, o.limits, b)
}

// ReadDatasetJSON reads one SDTM domain in CDISC Dataset-JSON v1.1 into b.
// The rows are streamed: only one row is held at a time, so the file may be
// larger than memory. Metadata must come before the rows, as v1.1 asks
// (columns first). Empty strings, nulls and R's NA are missing values;
// numbers may be JSON numbers or (as decimal columns are) strings, padded
// or not. Strings are read as they are: invalid UTF-8, control characters
// and unpaired UTF-16 surrogates (\ud800) are refused like a CSV file's,
// not replaced. Otherwise as ReadCSV.
func ReadDatasetJSON(file string, r io.Reader, study string, b *Batch, opts ...Option) error {
	o := readOptions(opts)
	return read(file, datasetjson.New(file, r, o.limits.bounds()), study, o.limits, b)
}

// ReadXPT reads one SDTM domain from a SAS XPORT version 5 transport file
// (the layout of SAS technical note TS-140, as regulators receive it) into
// b: the member named member, or the first one when member is "". The file
// is streamed one observation at a time. Numeric variables are IBM
// System/360 floating point; the missing values ., _ and .A to .Z are read
// as missing, as are blank character values. Otherwise as ReadCSV.
func ReadXPT(file string, r io.Reader, member, study string, b *Batch, opts ...Option) error {
	o := readOptions(opts)
	return read(file, xptfile.New(file, r, member, o.limits.bounds()), study, o.limits, b)
}
