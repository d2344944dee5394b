package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/trialwatch/trialwatch/sdtm"
)

// Skipped is a file Collect leaves out, and why.
type Skipped struct {
	Name   string // its path
	Reason string
}

func (s Skipped) String() string { return s.Name + ": " + s.Reason }

// Collect finds the SDTM files to import among paths, as an operator
// names them: files, folders (the files in them, not in their
// subfolders) and glob patterns (for a caller whose shell left them
// unexpanded). A real SDTM folder holds more than trialwatch reads, so
// instead of failing on the first such file Collect leaves out, with the
// reason, each file of a domain trialwatch does not read (SV, VS, SUPPAE
// ... by the file's DOMAIN column, else by its name) and each file of a
// format it cannot read (define.xml, .sas7bdat). The files it keeps know
// their domain. A path that names nothing, or nothing to import at all,
// is an error.
func Collect(paths []string, opts ...sdtm.Option) ([]File, []Skipped, error) {
	var names []string
	for _, p := range paths {
		found, err := expand(p)
		if err != nil {
			return nil, nil, err
		}
		names = append(names, found...)
	}
	var files []File
	var skipped []Skipped
	seen := map[string]bool{}
	for _, name := range names {
		if clean := filepath.Clean(name); seen[clean] {
			continue
		} else {
			seen[clean] = true
		}
		f, err := PathFile(name)
		if err != nil {
			skipped = append(skipped, Skipped{name, "not a format trialwatch reads (.csv, .json, .xpt, optionally .gz)"})
			continue
		}
		if f.Domain, err = domainOf(f, opts); err != nil {
			return nil, nil, err
		}
		if reason := notRead(f); reason != "" {
			skipped = append(skipped, Skipped{name, reason})
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, skipped, fmt.Errorf("nothing to import in %s: no file of a domain trialwatch reads (%s)", strings.Join(paths, " "), strings.Join(sdtm.Domains, ", "))
	}
	return files, skipped, nil
}

// expand lists the files path names: itself, a folder's files in name
// order, or a pattern's matches.
func expand(path string) ([]string, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range entries {
			if e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0 {
				if st, err := os.Stat(filepath.Join(path, e.Name())); err == nil && st.Mode().IsRegular() {
					out = append(out, filepath.Join(path, e.Name()))
				}
			}
		}
		return out, nil
	case err == nil:
		return []string{path}, nil
	case strings.ContainsAny(path, "*?["):
		matches, gerr := filepath.Glob(path)
		if gerr != nil {
			return nil, fmt.Errorf("%s: %w", path, gerr)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: no file matches", path)
		}
		var out []string
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				out = append(out, m)
			}
		}
		return out, nil
	}
	return nil, err
}

// domainOf reads f's domain from its first row; without one, the file's
// name stands for it (suppae.csv is SUPPAE), so that a dataset without a
// DOMAIN column is still told apart from one trialwatch reads.
func domainOf(f File, opts []sdtm.Option) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	if d := sdtm.Domain(f.Name, rc, f.Format, opts...); d != "" {
		return d, nil
	}
	base := strings.ToUpper(filepath.Base(f.Name))
	base, _, _ = strings.Cut(base, ".")
	if base != "" && strings.Trim(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && !slices.Contains(sdtm.Domains, base) {
		return base, nil
	}
	return "", nil // the import reports what is wrong with it
}

// notRead says why f, of a known domain, is not imported: "" when it is.
func notRead(f File) string {
	if f.Domain == "" || slices.Contains(sdtm.Domains, f.Domain) {
		return ""
	}
	return fmt.Sprintf("domain %s is not read by trialwatch", f.Domain)
}
