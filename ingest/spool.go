package ingest

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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
	dir, err := os.MkdirTemp("", "trialwatch-upload-")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer os.RemoveAll(dir)
	files, err := h.spool(r, dir)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	res, err := IngestFiles(r.Context(), h.Target, study, files, DefaultChunk, time.Now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The target wrote the upload's audit record.
	jsonhttp.Write(w, http.StatusOK, uploadResponse{Study: study, Files: names, Result: res})
}

// spool writes every file of the request into dir.
func (h *Handler) spool(r *http.Request, dir string) ([]File, error) {
	var files []File
	_, err := eachFile(r, func(u upload) error {
		f, err := spoolOne(dir, len(files), u.Name, u.Format, u.Body)
		if err != nil {
			return err
		}
		if u.Domain != "" {
			if err := checkDomain(f, u.Domain); err != nil {
				return err
			}
			f.Domain = u.Domain // checked: IngestFiles need not read it again
		}
		files = append(files, f)
		return nil
	})
	return files, err
}

func spoolOne(dir string, n int, name string, format sdtm.Format, r io.Reader) (File, error) {
	path := filepath.Join(dir, strconv.Itoa(n))
	out, err := os.Create(path)
	if err != nil {
		return File{}, err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, err
	}
	return File{Name: name, Format: format, Open: func() (io.ReadCloser, error) { return os.Open(path) }}, nil
}

// checkDomain refuses a raw upload whose records are not of ?domain=.
func checkDomain(f File, want string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if got := sdtm.Domain(f.Name, rc, f.Format); got != "" && got != want {
		return wrongDomain(f.Name, got, want)
	}
	return nil
}
