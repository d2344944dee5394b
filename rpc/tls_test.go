package rpc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeCert(t *testing.T, tmpl *x509.Certificate) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The configuration trusts the certificate alone, by the first name it
// carries, whatever address is dialled.
func TestTrustOwnCert(t *testing.T) {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tw"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	path := writeCert(t, tmpl)
	cfg, err := TrustOwnCert(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	block, _ := pem.Decode(data)
	cert, _ := x509.ParseCertificate(block.Bytes)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: cfg.ServerName}); err != nil || cfg.ServerName != "127.0.0.1" {
		t.Errorf("server name %q: the certificate does not verify against the configuration: %v", cfg.ServerName, err)
	}
	tmpl.IPAddresses, tmpl.DNSNames = nil, []string{"checker.internal", "other"}
	if cfg, err := TrustOwnCert(writeCert(t, tmpl)); err != nil || cfg.ServerName != "checker.internal" {
		t.Errorf("by DNS name: %v %v", cfg, err)
	}
	tmpl.DNSNames = nil
	if _, err := TrustOwnCert(writeCert(t, tmpl)); err == nil || !strings.Contains(err.Error(), "names no host") {
		t.Errorf("a certificate naming no host: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := TrustOwnCert(notPEM); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("not PEM: %v", err)
	}
}
