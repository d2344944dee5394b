// Command healthcheck asks a trialwatch process on the same host whether it
// is ready, for a container's HEALTHCHECK: the image (distroless) has no
// shell, curl or wget. It exits 0 when the answer is 2xx and 1 otherwise,
// with one line saying why.
//
//	healthcheck [URL]
//
// URL defaults to $TRIALWATCH_HEALTHCHECK_URL, else to /readyz on the admin
// listener $TRIALWATCH_ADMIN names (its port, on 127.0.0.1; https when
// $TRIALWATCH_TLS_CERT is set, as the admin listener then serves TLS), else
// http://127.0.0.1:9090/readyz. On a loopback address the certificate is
// not verified: it names the service's public host, and the probe asks
// its own container. It is its own module, depending on nothing
// but its test's goleak, so the image builds it in a moment.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	url, err := target(os.Args[1:], os.Getenv)
	if err == nil {
		err = probe(url, 3*time.Second)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// target is the URL to ask: the argument, the environment's, or /readyz on
// the admin listener's port.
func target(args []string, getenv func(string) string) (string, error) {
	switch {
	case len(args) > 1:
		return "", fmt.Errorf("want at most one argument, the URL; got %d", len(args))
	case len(args) == 1:
		return args[0], nil
	case getenv("TRIALWATCH_HEALTHCHECK_URL") != "":
		return getenv("TRIALWATCH_HEALTHCHECK_URL"), nil
	}
	port := "9090"
	if addr := getenv("TRIALWATCH_ADMIN"); addr != "" {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			return "", fmt.Errorf("TRIALWATCH_ADMIN %q: want HOST:PORT", addr)
		}
		port = p
	}
	scheme := "http"
	if getenv("TRIALWATCH_TLS_CERT") != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort("127.0.0.1", port) + "/readyz", nil
}

// probe asks target within timeout and wants a 2xx answer.
func probe(target string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	tr := &http.Transport{DisableKeepAlives: true}
	if ip := net.ParseIP(req.URL.Hostname()); (ip != nil && ip.IsLoopback()) || req.URL.Hostname() == "localhost" {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // our own container; see the package comment
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return nil
}
