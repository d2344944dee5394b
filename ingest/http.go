package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
	"github.com/trialwatch/trialwatch/sdtm"
)

// DefaultMaxUploadBytes bounds one upload request unless the Handler
// sets its own bound.
const DefaultMaxUploadBytes = 1 << 30

// Handler serves POST /api/v1/studies/{study}/uploads: SDTM files as
// multipart/form-data (any number of file parts; the format from each
// file name's extension or ?format=), or one file as the raw body with
// ?domain=&format=. Every file is validated before anything is stored; any
// problem answers 422 with all problems found (file, line or row, column)
// and stores nothing.
type Handler struct {
	Target Target
	Log    *slog.Logger
	// MaxBytes bounds one request's body; 0 means DefaultMaxUploadBytes.
	MaxBytes int64
	// Limits bound the reading of one request's files (zero fields:
	// sdtm.DefaultLimits); Limits.Bytes bounds them all together, once
	// decompressed.
	Limits sdtm.Limits
	// SpoolDir is where uploads are spooled while they are read; "" means
	// os.TempDir(). See SweepSpool.
	SpoolDir string
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// Register mounts the upload route on mux.
func (h *Handler) Register(mux jsonhttp.Mux) {
	mux.HandleFunc("POST /api/v1/studies/{study}/uploads", h.upload)
}

type problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Row     int    `json:"row,omitempty"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

type uploadResponse struct {
	Study string   `json:"study"`
	Files []string `json:"files"`
	Result
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	// Refused before the body is read; Ingest and IngestFiles refuse
	// without an identity too.
	if _, ok := auth.Caller(w, r); !ok {
		return
	}
	study := r.PathValue("study")
	limit := h.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxUploadBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	h.uploadStreamed(w, r, study)
}

// upload is one SDTM file of a request. Domain is set only for a raw body,
// where the caller names it so that a file of the wrong domain is refused.
type upload struct {
	Name   string
	Format sdtm.Format
	Domain string
	Body   io.Reader
}

// eachFile calls fn for every SDTM file of the request, in order: the raw
// body (with ?domain=&format=), or each file part of a multipart form (the
// format from ?format= or the file name). It returns the files' names.
func eachFile(r *http.Request, fn func(upload) error) ([]string, error) {
	q := r.URL.Query()
	if !isMultipart(r) {
		domain, format := strings.ToUpper(q.Get("domain")), strings.ToLower(q.Get("format"))
		if domain == "" || format == "" {
			return nil, badRequest("a raw upload needs ?domain= (DM, EX, AE, LB) and ?format= (csv, json, xpt); or send multipart/form-data")
		}
		u := upload{Name: "upload." + format, Format: sdtm.Format(format), Domain: domain, Body: r.Body}
		return []string{u.Name}, fn(u)
	}
	mr, closing, err := multipartReader(r)
	if err != nil {
		return nil, err
	}
	var names []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF && !closing.seen {
			// multipart.Reader ends so when the body is cut short in a
			// part's header too.
			return nil, &bodyError{io.ErrUnexpectedEOF}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &bodyError{err}
		}
		if part.FileName() == "" {
			part.Close()
			continue // a plain form field
		}
		format, err := formatFor(part.FileName(), q.Get("format"))
		if err == nil {
			err = fn(upload{Name: part.FileName(), Format: format, Body: part})
		}
		part.Close()
		if err != nil {
			return nil, err
		}
		names = append(names, part.FileName())
	}
	if len(names) == 0 {
		return nil, badRequest("no file parts in the multipart body: send each SDTM file as a form file")
	}
	return names, nil
}

// multipartReader reads r's multipart body, watching for its closing
// boundary.
func multipartReader(r *http.Request) (*multipart.Reader, *closeWatcher, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, nil, badRequest("multipart body: %v", err)
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, nil, badRequest("multipart body: no multipart boundary param in Content-Type")
	}
	// A body starts at a line's start, as its first boundary must.
	w := &closeWatcher{r: r.Body, closing: []byte("\n--" + boundary + "--"), tail: []byte("\n")}
	return multipart.NewReader(w, boundary), w, nil
}

// closeWatcher reads a multipart body and sees whether its closing
// boundary went by: a line starting with the boundary and "--", which no
// part's content can hold.
type closeWatcher struct {
	r       io.Reader
	closing []byte
	seen    bool
	tail    []byte // the last bytes read, in which the boundary may begin
	buf     []byte
}

func (w *closeWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if !w.seen && n > 0 {
		w.buf = append(append(w.buf[:0], w.tail...), p[:n]...)
		w.seen = bytes.Contains(w.buf, w.closing)
		keep := min(len(w.buf), len(w.closing)-1)
		w.tail = append(w.tail[:0], w.buf[len(w.buf)-keep:]...)
	}
	return n, err
}

func wrongDomain(name, got, want string) error {
	return &sdtm.Error{File: name, Column: "DOMAIN", Msg: fmt.Sprintf("the file holds %s records but ?domain=%s", got, want)}
}

func isMultipart(r *http.Request) bool {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mediaType == "multipart/form-data"
}

func formatFor(name, override string) (sdtm.Format, error) {
	if override != "" {
		return sdtm.Format(strings.ToLower(override)), nil
	}
	f, err := sdtm.FormatOf(name)
	if err != nil {
		return "", &sdtm.Error{File: name, Msg: err.Error()}
	}
	return f, nil
}

type requestError struct{ msg string }

func (e requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error { return requestError{fmt.Sprintf(format, args...)} }

// fail answers with the status an error deserves: the client's data is
// 422 with every problem located, a body past a limit (as sent, or
// decompressed) 413, the request's form or a body that could not be read
// 400, no identity 401, a data service that cannot be reached 502,
// anything else 500; the last two with a generic message, their detail
// logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var probs *Problems
	var errs sdtm.Errors
	var one *sdtm.Error
	var req requestError
	var tooBig *http.MaxBytesError
	var tooLarge *sdtm.TooLargeError
	var body *bodyError
	switch {
	case errors.As(err, &probs):
		writeProblems(w, probs.Errors, probs.Summary())
	case errors.As(err, &errs):
		writeProblems(w, errs, fmt.Sprintf("%d problem(s)", len(errs)))
	case errors.As(err, &one):
		writeProblems(w, sdtm.Errors{one}, "1 problem")
	case errors.As(err, &tooBig):
		jsonhttp.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes, the most one upload may be", tooBig.Limit))
	case errors.As(err, &tooLarge):
		jsonhttp.Error(w, http.StatusRequestEntityTooLarge, "nothing stored: "+tooLarge.Error())
	case errors.As(err, &req):
		jsonhttp.Error(w, http.StatusBadRequest, req.msg)
	case errors.As(err, &body):
		jsonhttp.Error(w, http.StatusBadRequest, body.Error())
	case errors.Is(err, auth.ErrNoIdentity):
		jsonhttp.Error(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
	case errors.Is(err, clinical.ErrUnavailable):
		jsonhttp.ServerError(w, r, h.log(), http.StatusBadGateway, fmt.Errorf("upload, nothing stored: %w", err))
	case errors.Is(err, clinical.ErrConflict):
		jsonhttp.Error(w, http.StatusConflict, "nothing stored: another upload wrote some of the same records at the same time; send this upload again")
	default:
		jsonhttp.ServerError(w, r, h.log(), http.StatusInternalServerError, fmt.Errorf("upload: %w", err))
	}
}

// writeProblems answers the problems listed, and in one phrase, summary,
// how many there are.
func writeProblems(w http.ResponseWriter, errs sdtm.Errors, summary string) {
	ps := make([]problem, len(errs))
	for i, e := range errs {
		ps[i] = problem{File: e.File, Line: e.Line, Row: e.Row, Column: e.Column, Message: e.Msg}
	}
	jsonhttp.Write(w, http.StatusUnprocessableEntity, map[string]any{
		"error":    "nothing stored: " + summary + " in the upload",
		"problems": ps,
	})
}

// Record is an upload as its audit record shows it: the files it came
// from and what it stored.
type Record struct {
	Files []string `json:"files,omitempty"`
	Result
}
