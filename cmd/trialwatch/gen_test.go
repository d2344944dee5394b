package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// A generated study imports (LB named before DM), imports again without
// a change, and a bad row late in its LB file stores nothing.
func TestGenStudyImports(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := runCmd(t, "gen-study", "--subjects", "30", "--labs-per-subject", "40", "--out", dir, "--gzip"); code != 0 {
		t.Fatalf("gen-study: exit %d: %s%s", code, out, errOut)
	}
	dm, lb := filepath.Join(dir, "dm.csv.gz"), filepath.Join(dir, "lb.csv.gz")
	db := filepath.Join(t.TempDir(), "gen.db")
	importArgs := []string{"import", "--db", db, "--study", "GEN01", "--chunk", "100", lb, dm}
	code, out, errOut := runCmd(t, importArgs...)
	if code != 0 || !strings.Contains(out, "30 subjects, 0 doses, 0 adverse events, 1200 lab results") ||
		!strings.Contains(out, "DM 30 new, 0 updated, 0 unchanged; LB 1200 new, 0 updated, 0 unchanged; 30 subject checks queued") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, importArgs...)
	if code != 0 || !strings.Contains(out, "LB 0 new, 0 updated, 1200 unchanged; 0 subject checks queued") {
		t.Fatalf("re-import: exit %d\n%s%s", code, out, errOut)
	}

	// A bad DOMAIN on the last line of a new study's LB: nothing stored.
	code, _, _ = runCmd(t, "gen-study", "--subjects", "30", "--labs-per-subject", "40", "--out", dir, "--study", "GEN02")
	if code != 0 {
		t.Fatal("gen-study GEN02 failed")
	}
	lbCSV := filepath.Join(dir, "lb.csv")
	data, _ := os.ReadFile(lbCSV)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines[len(lines)-1] = strings.Replace(lines[len(lines)-1], `"LB"`, `"XB"`, 1)
	os.WriteFile(lbCSV, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	code, out, errOut = runCmd(t, "import", "--db", db, "--study", "GEN02", "--chunk", "100", filepath.Join(dir, "dm.csv"), lbCSV)
	if code != 1 || !strings.Contains(errOut, lbCSV+`:1201: column DOMAIN: "XB" in a LB file`) {
		t.Fatalf("import of a bad file: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "import", "--db", db, "--study", "GEN02", filepath.Join(dir, "dm.csv"))
	if code != 0 || !strings.Contains(out, "DM 30 new") {
		t.Errorf("the rejected import stored subjects:\n%s", out)
	}
	// Each stored import left one audit record naming who ran it; the
	// rejected one none.
	code, out, errOut = runCmd(t, "audit", "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "3 records") {
		t.Errorf("audit after three stored imports and a rejected one: exit %d %s%s, want 3 records", code, out, errOut)
	}
}
