package ingest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/sdtm"
)

// uploadStreamed stores an upload: each file is first spooled to a
// temporary file (a multipart body can be read only once, and DM must be
// stored before the domains that refer to it), then validated and handed
// to the target chunk by chunk (IngestFiles). Memory stays flat however
// large the upload, in all-in-one and split mode alike.
func (h *Handler) uploadStreamed(w http.ResponseWriter, r *http.Request, study string) {
	sp := &spool{dir: h.SpoolDir}
	defer sp.close()
	files, err := h.spool(r, sp)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	res, err := IngestFiles(r.Context(), h.Target, study, files, DefaultChunk, time.Now(), WithLimits(h.Limits))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The target wrote the upload's audit record.
	jsonhttp.Write(w, http.StatusOK, uploadResponse{Study: study, Files: names, Result: res})
}

// spool writes every file of the request to sp.
func (h *Handler) spool(r *http.Request, sp *spool) ([]File, error) {
	var files []File
	_, err := eachFile(r, func(u upload) error {
		f, err := sp.add(u.Name, u.Format, clientBody{u.Body})
		if err != nil {
			return err
		}
		if u.Domain != "" {
			if err := checkDomain(f, u.Domain, sdtm.WithLimits(h.Limits)); err != nil {
				return err
			}
			f.Domain = u.Domain // checked: IngestFiles need not read it again
		}
		files = append(files, f)
		return nil
	})
	return files, err
}

// SpoolPrefix begins the name of every file an upload is spooled to, so
// that SweepSpool tells them from other files of the directory.
const SpoolPrefix = "trialwatch-spool-"

// spool holds the files of one upload. Each file's name is removed as
// soon as it is made, and the file read and written through its open
// descriptor alone: whatever ends the request or the process, SIGKILL
// included, the system frees the file with its last descriptor, and
// nothing remains in the directory. Only where the system cannot remove
// an open file (Windows) does it keep its name until close removes it.
type spool struct {
	dir   string // "" for os.TempDir()
	files []*os.File
	named []string // files whose names could not be removed yet
}

func (s *spool) add(name string, format sdtm.Format, r io.Reader) (File, error) {
	f, err := os.CreateTemp(s.dir, SpoolPrefix+"*")
	if err != nil {
		return File{}, err
	}
	s.files = append(s.files, f)
	if os.Remove(f.Name()) != nil {
		s.named = append(s.named, f.Name())
	}
	n, err := io.Copy(f, r)
	if err != nil {
		return File{}, err
	}
	return File{Name: name, Format: format, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(io.NewSectionReader(f, 0, n)), nil
	}}, nil
}

// close frees every file of the upload.
func (s *spool) close() {
	for _, f := range s.files {
		f.Close()
	}
	for _, name := range s.named {
		os.Remove(name)
	}
}

// SweepSpool removes from dir (os.TempDir() when "") the spool files
// older than since, the start of the process: those a process left that
// was killed in the instant between making a spool file and removing its
// name (see spool). Other processes may share the directory, replicas or
// another service: a spool file is never in use by its name, so removing
// one of theirs could not harm them; and only files older than since are
// removed, not those a process starting at the same moment is making.
// It returns how many it removed.
func SweepSpool(dir string, since time.Time, log *slog.Logger) int {
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Warn("spool sweep: cannot read the spool directory", "dir", dir, "err", err)
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), SpoolPrefix) || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(since) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			removed++
		} else if !errors.Is(err, os.ErrNotExist) {
			log.Warn("spool sweep: cannot remove a spool file", "file", e.Name(), "err", err)
		}
	}
	if removed > 0 {
		log.Info("spool sweep: removed spool files an earlier process left", "dir", dir, "files", removed)
	}
	return removed
}

// clientBody reads the request's body, marking the errors of reading it:
// they are the client's (a body cut short, a broken multipart framing,
// one past the request's limit), not the server's.
type clientBody struct{ r io.Reader }

func (c clientBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyError{err}
	}
	return n, err
}

// bodyError is an error reading the request's body.
type bodyError struct{ err error }

func (e *bodyError) Error() string {
	if errors.Is(e.err, io.ErrUnexpectedEOF) || errors.Is(e.err, io.EOF) {
		return "the request body is cut short: a truncated upload, or a multipart body without its closing boundary; send it again whole"
	}
	return fmt.Sprintf("the request body could not be read: %v", e.err)
}

func (e *bodyError) Unwrap() error { return e.err }

// checkDomain refuses a raw upload whose records are not of ?domain=.
func checkDomain(f File, want string, opts ...sdtm.Option) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if got := sdtm.Domain(f.Name, rc, f.Format, opts...); got != "" && got != want {
		return wrongDomain(f.Name, got, want)
	}
	return nil
}
