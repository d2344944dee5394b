package auth_test

import (
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/trialwatch/trialwatch/auth"
)

func TestMain(m *testing.M) {
	// Cost 12 takes seconds per hash under -race; TestPasswordCost checks
	// that production hashes use it.
	auth.SetHashCost(bcrypt.MinCost)
	goleak.VerifyTestMain(m)
}
