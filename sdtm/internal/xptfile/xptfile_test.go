package xptfile

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIBMToFloat(t *testing.T) {
	for _, c := range []struct {
		ibm  uint64
		want float64
	}{
		{0x0000000000000000, 0},
		{0x8000000000000000, 0}, // IBM's negative zero is zero
		{0x4110000000000000, 1},
		{0xC110000000000000, -1},
		{0x4080000000000000, 0.5},
		{0x423F000000000000, 63},
		{0xC170000000000000, -7},
		{0x4264000000000000, 100},
		{0x401999999999999A, 0.1}, // the nearest IBM value to 0.1 is float64's 0.1
		{0xC276A00000000000, -118.625},
		{0x4110000000000001, 1 + 0x1p-52},
		// 56 fraction bits round once to float64's 53, to nearest.
		{0x41FFFFFFFFFFFFFF, 16},
		{0x7FFFFFFFFFFFFFFF, 0x1p252},  // the largest IBM number, rounded
		{0x0010000000000000, 0x1p-260}, // the smallest normalized one, 16^-65
	} {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], c.ibm)
		if got := ibmToFloat(b[:]); got != c.want || math.Signbit(got) != (c.want < 0) {
			t.Errorf("ibmToFloat(%016X) = %v, want %v", c.ibm, got, c.want)
		}
	}
	// SAS stores short numerics as the first bytes of the 8.
	if got := ibmToFloat([]byte{0x42, 0x3F, 0, 0}); got != 63 {
		t.Errorf("4-byte 63 read as %v", got)
	}
	if got := ibmToFloat([]byte{0xC1, 0x70}); got != -7 {
		t.Errorf("2-byte -7 read as %v", got)
	}
}

// Every float64 within IBM's range has an exact IBM form, so writing and
// reading one must give it back bit for bit.
func TestIBMRoundTrip(t *testing.T) {
	if got := ToIBM(0.1); got != 0x401999999999999A {
		t.Fatalf("test encoder writes 0.1 as %016X", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := math.Ldexp(r.Float64()+0.5, r.IntN(500)-250)
		if r.IntN(2) == 0 {
			f = -f
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], ToIBM(f))
		if got := ibmToFloat(b[:]); got != f {
			t.Fatalf("%v (%016X) read back as %v", f, ToIBM(f), got)
		}
	}
}

func TestMissingNumber(t *testing.T) {
	for _, b := range [][]byte{{'.', 0, 0, 0, 0, 0, 0, 0}, {'_', 0, 0, 0, 0, 0, 0, 0}, {'A', 0, 0, 0}, {'Z', 0}} {
		if !missingNumber(b) {
			t.Errorf("% X not read as missing", b)
		}
	}
	// 'A' is 0x41, the exponent of numbers from 1/16 to 1: with a
	// fraction it is a number.
	for _, b := range [][]byte{{'A', 0x10, 0, 0}, {'.', 0, 0, 1}, {0, 0, 0, 0}} {
		if missingNumber(b) {
			t.Errorf("% X read as missing", b)
		}
	}
}
