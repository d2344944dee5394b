package datasetjson

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestUnquoteJSON(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:                 "plain",
		`"caf\u00e9 \"q\" \\ \/"`: `café "q" \ /`,
		`"\b\f\n\r\t"`:            "\b\f\n\r\t",
		`"\ud83d\ude00"`:          "😀",
		`"\ud83d"`:                "\xed\xa0\xbd",
		`"\ude00x"`:               "\xed\xb8\x80x",
		`"\ud83d\u0041"`:          "\xed\xa0\xbdA",
		"\"raw \xff\"":            "raw \xff",
	} {
		if got := unquoteJSON([]byte(in)); got != want {
			t.Errorf("unquoteJSON(%s) = %q, want %q", in, got, want)
		}
	}
}
