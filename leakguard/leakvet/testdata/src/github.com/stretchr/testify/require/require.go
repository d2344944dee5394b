// Package require is a stub of testify's require: assert's checks that stop
// the test.
package require

import "github.com/stretchr/testify/assert"

type TestingT interface {
	Errorf(format string, args ...any)
	FailNow()
}

func FailNow(t TestingT, msg string, msgAndArgs ...any) { t.FailNow() }

func True(t TestingT, value bool, msgAndArgs ...any) {
	if !assert.True(t, value, msgAndArgs...) {
		t.FailNow()
	}
}

func Equal(t TestingT, expected, actual any, msgAndArgs ...any) {
	if !assert.Equal(t, expected, actual, msgAndArgs...) {
		t.FailNow()
	}
}

// Assertions is require's assertion object (suite.Suite's Require()).
type Assertions struct{ t TestingT }

func New(t TestingT) *Assertions { return &Assertions{t} }

func (a *Assertions) Fail(msg string, msgAndArgs ...any)    { a.t.FailNow() }
func (a *Assertions) FailNow(msg string, msgAndArgs ...any) { a.t.FailNow() }
func (a *Assertions) True(value bool, msgAndArgs ...any)    { True(a.t, value, msgAndArgs...) }
