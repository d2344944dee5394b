// Package pilotdata embeds the public CDISC pilot study so that
// `trialwatch demo` serves a real study from a single binary, and tests
// have real data without reaching outside the repository.
package pilotdata

import (
	"compress/gzip"
	"embed"
	"fmt"
	"io"

	"github.com/trialwatch/trialwatch/sdtm"
)

// Study is the pilot's STUDYID.
const Study = "CDISCPILOT01"

//go:embed cdiscpilot01/*.csv.gz
var files embed.FS

// Domains are the pilot's domains embedded, as Open names them.
var Domains = []string{"dm", "ex", "ae", "lb", "ds", "cm"}

// Open returns one domain's CSV (see Domains), uncompressed.
func Open(domain string) (io.ReadCloser, error) {
	f, err := files.Open("cdiscpilot01/" + domain + ".csv.gz")
	if err != nil {
		return nil, fmt.Errorf("pilot data has no domain %q: %w", domain, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return readCloser{zr, f}, nil
}

type readCloser struct {
	*gzip.Reader
	f io.Closer
}

func (r readCloser) Close() error {
	r.Reader.Close()
	return r.f.Close()
}

// Load reads every domain of the pilot study.
func Load() (*sdtm.Batch, error) {
	var b sdtm.Batch
	for _, d := range Domains {
		if err := loadOne(d, &b); err != nil {
			return nil, err
		}
	}
	return &b, nil
}

func loadOne(domain string, b *sdtm.Batch) error {
	rc, err := Open(domain)
	if err != nil {
		return err
	}
	defer rc.Close()
	return sdtm.ReadCSV(domain+".csv", rc, Study, b)
}
