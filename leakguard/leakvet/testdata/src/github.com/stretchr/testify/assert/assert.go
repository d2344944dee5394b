// Package assert is a stub of testify's assert: the functions and methods
// leakvet knows, with testify's signatures.
package assert

// TestingT is what testify's assertions take: *testing.T and its kin.
type TestingT interface {
	Errorf(format string, args ...any)
}

func Fail(t TestingT, msg string, msgAndArgs ...any) bool { t.Errorf("%s", msg); return false }
func FailNow(t TestingT, msg string, msgAndArgs ...any) bool {
	t.Errorf("%s", msg)
	return false
}
func Failf(t TestingT, msg string, args ...any) bool { t.Errorf(msg, args...); return false }

func True(t TestingT, value bool, msgAndArgs ...any) bool {
	if !value {
		t.Errorf("should be true")
	}
	return value
}

func False(t TestingT, value bool, msgAndArgs ...any) bool {
	if value {
		t.Errorf("should be false")
	}
	return !value
}

func Equal(t TestingT, expected, actual any, msgAndArgs ...any) bool {
	if expected != actual {
		t.Errorf("not equal")
		return false
	}
	return true
}

func NoError(t TestingT, err error, msgAndArgs ...any) bool {
	if err != nil {
		t.Errorf("%v", err)
		return false
	}
	return true
}

// Assertions is testify's assertion object (suite.Suite embeds one).
type Assertions struct{ t TestingT }

func New(t TestingT) *Assertions { return &Assertions{t} }

func (a *Assertions) Fail(msg string, msgAndArgs ...any) bool { return Fail(a.t, msg, msgAndArgs...) }
func (a *Assertions) FailNow(msg string, msgAndArgs ...any) bool {
	return FailNow(a.t, msg, msgAndArgs...)
}
func (a *Assertions) True(value bool, msgAndArgs ...any) bool { return True(a.t, value, msgAndArgs...) }
func (a *Assertions) Equal(expected, actual any, msgAndArgs ...any) bool {
	return Equal(a.t, expected, actual, msgAndArgs...)
}
