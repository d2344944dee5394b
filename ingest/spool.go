package ingest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/sdtm"
)

// uploadStreamed stores an upload through the streaming path: each file is
// first spooled to a temporary file (a multipart body can be read only
// once, and DM must be stored before the domains that refer to it), then
// validated and written chunk by chunk in one transaction. Memory stays
// flat however large the upload.
func (h *Handler) uploadStreamed(w http.ResponseWriter, r *http.Request, local *Local, study string) {
	dir, err := os.MkdirTemp("", "trialwatch-upload-")
	if err != nil {
		h.fail(w, err)
		return
	}
	defer os.RemoveAll(dir)
	files, err := h.spool(r, dir)
	if err != nil {
		h.fail(w, err)
		return
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	res, err := local.IngestFiles(r.Context(), study, files, DefaultChunk, time.Now())
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, uploadResponse{Study: study, Files: names, Result: res})
}

// spool writes every file of the request into dir.
func (h *Handler) spool(r *http.Request, dir string) ([]File, error) {
	q := r.URL.Query()
	if !isMultipart(r) {
		domain, format := strings.ToUpper(q.Get("domain")), strings.ToLower(q.Get("format"))
		if domain == "" || format == "" {
			return nil, badRequest("a raw upload needs ?domain= (DM, EX, AE, LB) and ?format= (csv, json, xpt); or send multipart/form-data")
		}
		f, err := spoolOne(dir, 0, "upload."+format, sdtm.Format(format), r.Body)
		if err != nil {
			return nil, err
		}
		if err := checkDomain(f, domain); err != nil {
			return nil, err
		}
		return []File{f}, nil
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("multipart body: %v", err)
	}
	var files []File
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("multipart body: %v", err)
		}
		if part.FileName() == "" {
			part.Close()
			continue // a plain form field
		}
		format, err := formatFor(part.FileName(), q.Get("format"))
		if err == nil {
			var f File
			f, err = spoolOne(dir, len(files), part.FileName(), format, part)
			files = append(files, f)
		}
		part.Close()
		if err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, badRequest("no file parts in the multipart body: send each SDTM file as a form file")
	}
	return files, nil
}

func spoolOne(dir string, n int, name string, format sdtm.Format, r io.Reader) (File, error) {
	path := fmt.Sprintf("%s/%d", dir, n)
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
		return &sdtm.Error{File: f.Name, Column: "DOMAIN", Msg: fmt.Sprintf("the file holds %s records but ?domain=%s", got, want)}
	}
	return nil
}
