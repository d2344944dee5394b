package studygen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/studygen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A generated study reads back as valid SDTM with the rows asked for, some
// lab results out of their normal range.
func TestWriteReadsBackAsSDTM(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		dm, lb, err := studygen.Write(dir, studygen.Options{Subjects: 20, LabsPerSubject: 30, Study: "S9", Gzip: gz})
		if err != nil {
			t.Fatal(err)
		}
		if ext := filepath.Ext(lb); (ext == ".gz") != gz {
			t.Errorf("gzip %v wrote %s", gz, lb)
		}
		var b sdtm.Batch
		for _, path := range []string{dm, lb} {
			if err := sdtm.ReadFile(path, "S9", &b); err != nil {
				t.Fatalf("gzip %v: %v", gz, err)
			}
		}
		if len(b.Subjects) != 20 || len(b.Labs) != 600 {
			t.Fatalf("gzip %v: %d subjects, %d lab results; want 20 and 600", gz, len(b.Subjects), len(b.Labs))
		}
		if errs := b.CheckSubjects(nil); len(errs) > 0 {
			t.Errorf("lab results of subjects not in DM: %v", errs)
		}
		var high int
		for _, l := range b.Labs {
			if l.HasValue && l.HasHigh && l.Value > l.High {
				high++
			}
		}
		if high == 0 || high > len(b.Labs)/4 {
			t.Errorf("%d of %d results above their range: want some, not most", high, len(b.Labs))
		}
	}
}

// The same seed writes the same files, another seed other ones.
func TestWriteIsDeterministic(t *testing.T) {
	write := func(seed uint64) []byte {
		_, lb, err := studygen.Write(t.TempDir(), studygen.Options{Subjects: 5, LabsPerSubject: 12, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(lb)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	if !bytes.Equal(write(7), write(7)) {
		t.Error("seed 7 wrote different files")
	}
	if bytes.Equal(write(7), write(8)) {
		t.Error("seeds 7 and 8 wrote the same files")
	}
}

func TestWriteRejectsNegativeCounts(t *testing.T) {
	for _, o := range []studygen.Options{{Subjects: -1}, {LabsPerSubject: -3}} {
		dir := filepath.Join(t.TempDir(), "out")
		if _, _, err := studygen.Write(dir, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%+v: the directory was made", o)
		}
	}
}
