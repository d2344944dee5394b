package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/access"
)

// pageWrites are the page routes that change data through one audited API
// call (a review of one finding, an upload): a success leaves one record.
var pageWrites = map[string]bool{
	"POST /ui/studies/{study}/findings/review": true,
	"POST /ui/studies/{study}/uploads":         true,
}

// multipartFile is a multipart/form-data body with one file part.
func multipartFile(name, content string) (contentType, body string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.Close()
	return mw.FormDataContentType(), b.String()
}

// checkPageForms sends every state-changing page route, as a role it is
// for, a request without the anti-forgery token, with another session's,
// and one the browser marks cross-site: each is refused (403) and leaves
// no audit record, so nothing was changed through the API.
func checkPageForms(t *testing.T, f *accessFixture, rules map[string]access.Rule) {
	t.Helper()
	roleOf := map[string]string{"POST /ui/logout": "monitor", "POST /ui/studies/{study}/findings/review": "monitor",
		"POST /ui/studies/{study}/uploads": "site"}
	matrix := accessMatrix()
	for pattern, rule := range rules {
		if !rule.Page || !strings.HasPrefix(pattern, "POST ") {
			continue
		}
		who, ok := roleOf[pattern]
		if !ok {
			t.Errorf("%s: a state-changing page route the anti-forgery check does not cover: add it to checkPageForms", pattern)
			continue
		}
		c := accessCase{who, "own"}
		for name, tweak := range map[string]func(*http.Request){
			"no token":      func(req *http.Request) { req.Header.Del(access.CSRFHeader) },
			"another token": func(req *http.Request) { req.Header.Set(access.CSRFHeader, access.CSRFToken(f.tokens["site"]+"x")) },
			"cross-site":    func(req *http.Request) { req.Header.Set("Sec-Fetch-Site", "cross-site") },
		} {
			before := f.auditCount()
			got, body := f.callWith(c, matrix[pattern].build(f, c), tweak)
			if got != http.StatusForbidden {
				t.Errorf("%s as %s, %s: status %d, want 403 (%.200s)", pattern, c, name, got, body)
			}
			if n := f.auditCount() - before; n != 0 {
				t.Errorf("%s as %s, %s: %d audit records, want none", pattern, c, name, n)
			}
		}
	}
}
