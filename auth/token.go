package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

var (
	ErrNoCredentials  = errors.New("no credentials given")
	ErrBadCredentials = errors.New("invalid credentials")
	ErrExpired        = errors.New("token expired")
	ErrRevoked        = errors.New("token revoked")
	ErrDisabled       = errors.New("user disabled")
	ErrUnknownUser    = errors.New("unknown user")
	ErrUnknownToken   = errors.New("unknown token")
	ErrExists         = errors.New("user already exists")
	ErrInvalid        = errors.New("invalid input") // wrapped by every validation error
)

// invalidError is a validation error: its text is the message alone, and
// errors.Is(err, ErrInvalid) holds.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// Why ParseAuthorization refused a header. Each wraps ErrBadCredentials, so
// a caller that needs no detail tests for that alone.
var (
	ErrScheme      = fmt.Errorf("%w: authorization scheme is not Bearer", ErrBadCredentials)
	ErrTokenPrefix = fmt.Errorf("%w: token does not start with %q", ErrBadCredentials, tokenPrefix)
	ErrTokenLength = fmt.Errorf("%w: token is not %d characters long", ErrBadCredentials, tokenLen)
	ErrTokenChars  = fmt.Errorf("%w: token is not base64url of %d bytes", ErrBadCredentials, tokenBytes)
)

const (
	tokenPrefix = "tw_"
	tokenBytes  = 32 // 256 bits: guessing is hopeless, so a fast hash suffices
)

var (
	tokenEncoding = base64.RawURLEncoding.Strict()
	tokenLen      = len(tokenPrefix) + tokenEncoding.EncodedLen(tokenBytes)
)

// newToken returns a fresh random token.
func newToken() string {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return tokenPrefix + tokenEncoding.EncodeToString(b)
}

// hashToken is what the database keeps instead of the token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// checkToken reports whether token has exactly the form newToken makes.
// Strict decoding refuses non-zero trailing bits, so only one spelling of
// each token is accepted.
func checkToken(token string) error {
	switch {
	case !strings.HasPrefix(token, tokenPrefix):
		return ErrTokenPrefix
	case len(token) != tokenLen:
		return ErrTokenLength
	}
	if b, err := tokenEncoding.DecodeString(token[len(tokenPrefix):]); err != nil || len(b) != tokenBytes {
		return ErrTokenChars
	}
	return nil
}

// ParseAuthorization returns the token of an Authorization header of the
// form "Bearer <token>". The scheme is case-insensitive (RFC 9110 11.1) and
// may be followed by several spaces. An empty header, or a Bearer header
// without a token, is ErrNoCredentials; anything else wrong is one of
// ErrScheme, ErrTokenPrefix, ErrTokenLength or ErrTokenChars.
func ParseAuthorization(header string) (token string, err error) {
	if strings.TrimSpace(header) == "" {
		return "", ErrNoCredentials
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrScheme
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" {
		return "", ErrNoCredentials
	}
	if err := checkToken(token); err != nil {
		return "", err
	}
	return token, nil
}
