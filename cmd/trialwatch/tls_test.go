package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/pilotdata"
)

// selfSigned writes a certificate for host name (not an address) and its
// key, returning their paths and the certificate.
func selfSigned(t *testing.T, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

// With --tls-cert and --tls-key the API is HTTPS only, with HSTS, and the
// all-in-one checker still reaches its data services on its own TLS
// listener although the certificate names a host, not 127.0.0.1.
func TestServeOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the whole pilot study; skipped with -short")
	}
	certFile, keyFile, cert := selfSigned(t, "trialwatch.test")
	n := runPilotNode(t, config{tlsCert: certFile, tlsKey: keyFile, rateLimit: 100, rateBurst: 100, guessRate: 1, guessBurst: 10})
	ctx := context.Background()
	grants, _ := auth.ParseGrants(pilotdata.Study, "")
	if _, err := n.users.AddUser(ctx, nil, "mon", auth.RoleMonitor, grants, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	token, _, err := n.users.CreateToken(ctx, nil, "mon", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "trialwatch.test"}}
	client := &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections) // runs before the node stops
	if !strings.HasPrefix(n.httpURL(), "https://") {
		t.Fatalf("API URL %s is not https", n.httpURL())
	}
	deadline := time.Now().Add(30 * time.Second)
	var resp *http.Response
	for {
		req, _ := http.NewRequest("POST", n.httpURL()+"/api/v1/studies/"+pilotdata.Study+"/subjects/01-701-1015/checks", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err = client.Do(req); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("check over TLS: %d", resp.StatusCode)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no HSTS header over TLS")
	}
	// The admin listener carries tokens too: it serves TLS with the same
	// certificate.
	if !strings.HasPrefix(n.adminURL(), "https://") {
		t.Fatalf("admin URL %s is not https", n.adminURL())
	}
	adm, err := client.Get(n.adminURL() + "/readyz")
	if err != nil {
		t.Fatalf("admin listener over TLS: %v", err)
	}
	adm.Body.Close()
	if adm.StatusCode != http.StatusOK || adm.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("admin listener over TLS: %d, HSTS %q; want 200 with HSTS", adm.StatusCode, adm.Header.Get("Strict-Transport-Security"))
	}
	for _, l := range []net.Listener{n.httpL, n.adminL} {
		plain, err := http.Get("http://" + l.Addr().String() + "/healthz")
		if err == nil {
			plain.Body.Close()
			if plain.StatusCode != http.StatusBadRequest {
				t.Errorf("plain HTTP to the TLS listener %s: %d, want 400", l.Addr(), plain.StatusCode)
			}
		}
	}
}

// A bad TLS pair stops serve before it binds or opens anything.
func TestBadTLSFilesFailAtStart(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t, "trialwatch.test")
	for _, tc := range []struct {
		cert, key, want string
	}{
		{certFile, "", "--tls-cert and --tls-key go together"},
		{certFile, certFile, `--tls-cert "` + certFile + `": with --tls-key: `},
		{filepath.Join(t.TempDir(), "missing.pem"), keyFile, "--tls-cert"},
	} {
		db := filepath.Join(t.TempDir(), "tw.db")
		var stderr strings.Builder
		code := run(context.Background(), []string{"serve", "--db", db, "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0",
			"--tls-cert", tc.cert, "--tls-key", tc.key}, io.Discard, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("cert %s key %s: exit %d, %q; want 2 and %q", tc.cert, tc.key, code, stderr.String(), tc.want)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("cert %s key %s: the database was created", tc.cert, tc.key)
		}
	}
}
