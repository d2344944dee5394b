package stackdump

import (
	"testing"
)

func TestProtoDumpRefusesWhatIsNotAProfile(t *testing.T) {
	for name, b := range map[string][]byte{
		"text dump":   []byte("goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\n"),
		"bad gzip":    {0x1f, 0x8b, 0, 0},
		"truncated":   {0x0a, 0x10, 0x01},
		"empty proto": {},
	} {
		if _, err := ProtoDump(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
