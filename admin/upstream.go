package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ReadyAt is a Dependency check of another trialwatch process, such as
// a data service: its /readyz at base, called through hc (the client the
// caller uses for it, with its credentials and TLS settings).
func ReadyAt(hc *http.Client, base string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /readyz answered %d", resp.StatusCode)
		}
		return nil
	}
}

// RedactURL is a URL as a Dependency's Target shows it: without a
// password it may carry.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	return u.Redacted()
}
