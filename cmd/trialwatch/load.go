package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trialwatch/trialwatch/ingest"
)

// withProgress has each file show its progress while it is read.
func withProgress(files []ingest.File, prog *progress) []ingest.File {
	out := make([]ingest.File, len(files))
	for i, f := range files {
		path := f.Name
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
		out[i] = f
	}
	return out
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
