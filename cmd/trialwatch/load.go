package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sdtm"
)

// importFiles describes files to stream into the database, each showing
// its progress on a terminal while it is read. Each file's domain is read
// from its first row up front, so that DM is stored first.
func importFiles(paths []string, prog *progress) ([]ingest.File, error) {
	files := make([]ingest.File, len(paths))
	for i, path := range paths {
		f, err := ingest.PathFile(path)
		if err != nil {
			return nil, err
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		f.Domain = sdtm.Domain(path, rc, f.Format)
		rc.Close()
		f.Open = func() (io.ReadCloser, error) {
			file, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			var size int64
			if st, err := file.Stat(); err == nil {
				size = st.Size()
			}
			prog.start("importing "+filepath.Base(path), size)
			return progressFile{prog.reader(file), file, prog}, nil
		}
		files[i] = f
	}
	return files, nil
}

// progressFile ends the progress line of a file when it is closed.
type progressFile struct {
	io.Reader
	f    *os.File
	prog *progress
}

func (p progressFile) Close() error {
	p.prog.finish()
	return p.f.Close()
}

// describeCounts counts the records an import read, stored or not.
func describeCounts(r ingest.Result) string {
	n := func(domain string) int {
		s := r.Domains[domain]
		return s.Inserted + s.Updated + s.Unchanged
	}
	out := fmt.Sprintf("%d subjects, %d doses, %d adverse events, %d lab results", n("DM"), n("EX"), n("AE"), n("LB"))
	if _, ok := r.Domains["DS"]; ok {
		out += fmt.Sprintf(", %d disposition events", n("DS"))
	}
	if _, ok := r.Domains["CM"]; ok {
		out += fmt.Sprintf(", %d concomitant medications", n("CM"))
	}
	return out
}

func describeResult(r ingest.Result) string {
	domains := make([]string, 0, len(r.Domains))
	for d := range r.Domains {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	parts := make([]string, len(domains))
	for i, d := range domains {
		s := r.Domains[d]
		parts[i] = fmt.Sprintf("%s %d new, %d updated, %d unchanged", d, s.Inserted, s.Updated, s.Unchanged)
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; %d subject checks queued", r.Queued)
}
