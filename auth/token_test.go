package auth_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/auth"
)

var tokenRE = regexp.MustCompile(`^tw_[A-Za-z0-9_-]{43}$`)

func TestTokenFormatAndUniqueness(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		tok := auth.NewToken()
		if !tokenRE.MatchString(tok) {
			t.Fatalf("token %q does not match %v", tok, tokenRE)
		}
		if b, err := base64.RawURLEncoding.DecodeString(tok[3:]); err != nil || len(b) != 32 {
			t.Fatalf("token %q: %d bytes, %v", tok, len(b), err)
		}
		if got, err := auth.ParseAuthorization("Bearer " + tok); err != nil || got != tok {
			t.Fatalf("ParseAuthorization of a new token = %q, %v", got, err)
		}
		if seen[tok] {
			t.Fatalf("token %q issued twice", tok)
		}
		seen[tok] = true
	}
}

// validToken is a fixed well-formed token.
var validToken = "tw_" + base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func TestParseAuthorization(t *testing.T) {
	// The last of 43 characters carries 4 bits of data and 2 of padding
	// that must be zero: "B" (000001) sets one, which lax decoders ignore.
	nonCanonical := validToken[:len(validToken)-1] + "B"
	if strings.HasSuffix(validToken, "B") {
		t.Fatal("pick another fixed token")
	}
	for _, tc := range []struct {
		header string
		want   error
	}{
		{"Bearer " + validToken, nil},
		{"bearer " + validToken, nil},
		{"BEARER   " + validToken, nil},
		{"", auth.ErrNoCredentials},
		{"   ", auth.ErrNoCredentials},
		{"Bearer", auth.ErrNoCredentials},
		{"Bearer ", auth.ErrNoCredentials},
		{"Bearer    ", auth.ErrNoCredentials},
		{"Basic dXNlcjpwYXNz", auth.ErrScheme},
		{"Token " + validToken, auth.ErrScheme},
		{"Bearer\t" + validToken, auth.ErrScheme},
		{" Bearer " + validToken, auth.ErrScheme},
		{"Bearer " + validToken[3:], auth.ErrTokenPrefix},
		{"Bearer TW_" + validToken[3:], auth.ErrTokenPrefix},
		{"Bearer " + validToken + "A", auth.ErrTokenLength},
		{"Bearer " + validToken[:len(validToken)-1], auth.ErrTokenLength},
		{"Bearer " + validToken + " ", auth.ErrTokenLength},
		{"Bearer " + validToken[:10] + "+" + validToken[11:], auth.ErrTokenChars},
		{"Bearer " + validToken[:10] + "=" + validToken[11:], auth.ErrTokenChars},
		{"Bearer " + validToken[:10] + " " + validToken[11:], auth.ErrTokenChars},
		{"Bearer " + nonCanonical, auth.ErrTokenChars},
	} {
		got, err := auth.ParseAuthorization(tc.header)
		if err != tc.want {
			t.Errorf("ParseAuthorization(%q) error = %v, want %v", tc.header, err, tc.want)
			continue
		}
		if err == nil && got != validToken {
			t.Errorf("ParseAuthorization(%q) = %q", tc.header, got)
		}
		if err != nil && got != "" {
			t.Errorf("ParseAuthorization(%q) = %q with error %v", tc.header, got, err)
		}
		if err != nil && err != auth.ErrNoCredentials && !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("ParseAuthorization(%q): %v does not wrap ErrBadCredentials", tc.header, err)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"", "Bearer " + validToken, "bearer  " + validToken, "Basic x", "Bearer tw_", "Bearer tw_" + strings.Repeat("_", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := auth.ParseAuthorization(header)
		if err != nil {
			if tok != "" {
				t.Fatalf("error %v with token %q", err, tok)
			}
			return
		}
		// Accepted: the exact format, in one spelling only, at the end of a
		// Bearer header.
		if !tokenRE.MatchString(tok) {
			t.Fatalf("accepted %q, not a token", tok)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok[3:])
		if err != nil || len(b) != 32 || "tw_"+base64.RawURLEncoding.EncodeToString(b) != tok {
			t.Fatalf("accepted %q, which does not round-trip (%d bytes, %v)", tok, len(b), err)
		}
		scheme, rest, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "bearer") || strings.TrimLeft(rest, " ") != tok {
			t.Fatalf("accepted %q from header %q", tok, header)
		}
	})
}
