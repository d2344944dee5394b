package layering

import (
	"testing"

	"github.com/trialwatch/trialwatch/leakguard/testmaincheck"
)

// TestEveryPackageVerifiesGoroutines keeps the project's rule that every
// package's tests run goleak: each package of the trialwatch module with
// code of its own (generated code and proto's go:generate file are exempt)
// has a test file whose TestMain calls goleak.VerifyTestMain. leakguard, a
// module of its own, keeps the same rule in its testmaincheck test.
func TestEveryPackageVerifiesGoroutines(t *testing.T) {
	missing, err := testmaincheck.Unguarded(".", module, module+"/...")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range missing {
		t.Errorf("%s", m)
	}
}
