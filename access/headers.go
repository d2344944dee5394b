package access

import "net/http"

// SecureHeaders sets the response headers every trialwatch answer carries:
// no sniffing, no framing, no referrer, no caching of confidential data,
// a content policy that lets an HTML page (leak reports) load nothing from
// elsewhere, and HSTS when served over TLS.
func SecureHeaders(h http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		if tls {
			hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		h.ServeHTTP(w, r)
	})
}
