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

// hashCost is the default of WithHashCost, bcryptCost; tests lower it,
// as cost 12 takes seconds under the race detector.
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

func hashPassword(password string, cost int) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	return string(h), err
}

var dummyHashes sync.Map // cost → hash of a password no one has

// dummyHash, of bcrypt cost cost, is compared against when a login names
// no user (or one without a password), so that it costs as much as a
// wrong password.
func dummyHash(cost int) []byte {
	if h, ok := dummyHashes.Load(cost); ok {
		return h.([]byte)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(newToken()), cost)
	if err != nil {
		panic(err) // only for a cost out of range
	}
	dummyHashes.Store(cost, h)
	return h
}

// verifyPassword compares password with hash in constant time (bcrypt
// does); hash "" stands for no usable password, compared with the dummy
// hash of cost.
func verifyPassword(hash, password string, cost int) bool {
	h := []byte(hash)
	if hash == "" {
		h = dummyHash(cost)
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(password))
	return hash != "" && err == nil
}
