package wire

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The eDISH answer and the signal summary were maps, which encoding/json
// writes in the order of their keys; their types keep that order so that
// the answers stay the same to the byte.
func TestFormerMapsKeepTheirKeyOrder(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[EDISH](), reflect.TypeFor[SignalSummary]()} {
		var keys []string
		for f := range typ.Fields() {
			keys = append(keys, strings.Split(f.Tag.Get("json"), ",")[0])
		}
		if !slices.IsSorted(keys) {
			t.Errorf("%s's JSON keys %v are not in order: clients that compared its bytes would see it change", typ.Name(), keys)
		}
	}
}
