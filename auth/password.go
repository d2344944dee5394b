package auth

import (
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

const (
	bcryptCost        = 12
	MinPasswordLength = 12 // characters
	MaxPasswordBytes  = 72 // bcrypt ignores what follows; refuse rather than truncate
)

var (
	ErrPasswordTooShort = invalidf("password too short: at least %d characters", MinPasswordLength)
	ErrPasswordTooLong  = invalidf("password too long: at most %d bytes (UTF-8)", MaxPasswordBytes)
)

// hashCost is bcryptCost; tests lower it, as cost 12 takes seconds under
// the race detector.
var hashCost = bcryptCost

func checkPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return ErrPasswordTooShort
	case len(password) > MaxPasswordBytes:
		return ErrPasswordTooLong
	}
	return nil
}

func hashPassword(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), hashCost)
	return string(h), err
}

var dummyHashes sync.Map // cost → hash of a password no one has

// dummyHash is compared against when a login names no user (or one without
// a password), so that it costs as much as a wrong password.
func dummyHash() []byte {
	if h, ok := dummyHashes.Load(hashCost); ok {
		return h.([]byte)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(newToken()), hashCost)
	if err != nil {
		panic(err) // only for a cost out of range
	}
	dummyHashes.Store(hashCost, h)
	return h
}

// verifyPassword compares password with hash in constant time (bcrypt
// does); hash "" stands for no usable password.
func verifyPassword(hash, password string) bool {
	h := []byte(hash)
	if hash == "" {
		h = dummyHash()
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(password))
	return hash != "" && err == nil
}
