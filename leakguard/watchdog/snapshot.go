package watchdog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

const (
	snapPrefix = "goroutines-"
	snapText   = ".txt"
	snapProto  = ".pb.gz"
)

func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("watchdog: snapshot dir: %w", err)
	}
	return nil
}

// writeSnapshot writes the text dump and, with proto, the pprof goroutine
// profile (gzipped proto, for `go tool pprof`) and prunes the directory to
// max snapshots. Names sort by time so pruning needs no metadata.
func writeSnapshot(dir string, now time.Time, seq int, dump []byte, proto bool, max int) (string, error) {
	stem := filepath.Join(dir, fmt.Sprintf("%s%s-%06d", snapPrefix, now.UTC().Format("20060102T150405.000Z"), seq))
	if err := writeAtomic(stem+snapText, func(f *os.File) error {
		_, err := f.Write(dump)
		return err
	}); err != nil {
		return "", err
	}
	if proto {
		if err := writeAtomic(stem+snapProto, func(f *os.File) error {
			return pprof.Lookup("goroutine").WriteTo(f, 0)
		}); err != nil {
			return stem + snapText, err
		}
	}
	return stem + snapText, prune(dir, max)
}

// writeAtomic writes through a temp file and renames it, so a reader (or
// a crash) never sees half a snapshot.
func writeAtomic(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// prune deletes the oldest snapshots beyond max. Only files this package
// names are touched.
func prune(dir string, max int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	stems := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, snapPrefix) {
			continue
		}
		switch {
		case strings.HasSuffix(name, snapText):
			stems[strings.TrimSuffix(name, snapText)] = true
		case strings.HasSuffix(name, snapProto):
			stems[strings.TrimSuffix(name, snapProto)] = true
		}
	}
	sorted := make([]string, 0, len(stems))
	for s := range stems {
		sorted = append(sorted, s)
	}
	sort.Strings(sorted)
	var firstErr error
	for len(sorted) > max {
		for _, ext := range []string{snapText, snapProto} {
			if err := os.Remove(filepath.Join(dir, sorted[0]+ext)); err != nil && !os.IsNotExist(err) && firstErr == nil {
				firstErr = err
			}
		}
		sorted = sorted[1:]
	}
	return firstErr
}
