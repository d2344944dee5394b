package sdtm

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{
		"dm.csv": CSV, "LB.CSV.GZ": CSV, "ae.json": DatasetJSON, "dir.v2/ae.json.gz": DatasetJSON, "dm.xpt": XPT, "ex.XPT.gz": XPT,
	} {
		if got, err := FormatOf(name); got != want || err != nil {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"dm.sas7bdat", "dm", "dm.gz", "dm.ndjson"} {
		if _, err := FormatOf(name); err == nil || !strings.Contains(err.Error(), "cannot read") {
			t.Errorf("FormatOf(%q): err = %v, want cannot read", name, err)
		}
	}
}

// Uploads come compressed or not whatever their name says.
func TestReadDecompressesWhatIsGzipped(t *testing.T) {
	raw := unzip(t, pilotPath("dm", XPT))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(raw)
	zw.Close()
	for _, in := range [][]byte{raw, zipped.Bytes()} {
		var b Batch
		if err := Read("upload", bytes.NewReader(in), XPT, pilot, &b); err != nil || len(b.Subjects) != 306 {
			t.Errorf("read %d subjects, err %v; want 306", len(b.Subjects), err)
		}
	}
	wantErrors(t, Read("upload", bytes.NewReader([]byte{0x1f, 0x8b, 0}), CSV, pilot, &Batch{}), "upload: gzip: unexpected EOF")
	wantErrors(t, Read("upload", bytes.NewReader(raw), "sas7bdat", pilot, &Batch{}), `upload: unknown format "sas7bdat": want "csv", "json" or "xpt"`)
}

// Files add to a batch, each all or nothing.
func TestReadFileAddsToTheBatch(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ae.csv")
	if err := os.WriteFile(bad, []byte("STUDYID,DOMAIN,USUBJID,AESEQ,AETERM\nCDISCPILOT01,AE,X,1,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b Batch
	for _, p := range []string{pilotPath("dm", XPT), pilotPath("ae", DatasetJSON), pilotPath("ds", CSV)} {
		if err := ReadFile(p, pilot, &b); err != nil {
			t.Fatal(err)
		}
	}
	wantErrors(t, ReadFile(bad, pilot, &b), bad+":2: column AETERM: required value is missing")
	if len(b.Subjects) != 306 || len(b.Events) != 1191 || len(b.Dispositions) != 850 || b.Len() != 306+1191+850 {
		t.Errorf("batch holds %d subjects, %d events, %d dispositions (%d in all)", len(b.Subjects), len(b.Events), len(b.Dispositions), b.Len())
	}
	if err := ReadFile(filepath.Join(dir, "none.csv"), pilot, &b); !os.IsNotExist(err) {
		t.Errorf("err = %v, want not exist", err)
	}
}
