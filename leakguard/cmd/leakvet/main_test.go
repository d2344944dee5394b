package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const leakyModule = `package leaky

import "time"

// First leaks its goroutine when the timeout wins.
func First(f func() int) int {
	ch := make(chan int)
	go func() { ch <- f() }()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Second):
		return 0
	}
}
`

// leakyTest has a shape reported only with -leakvet.all: senders started in
// a loop in a test, against one receive.
const leakyTest = `package leaky

import "testing"

func TestFirst(t *testing.T) {
	ch := make(chan int)
	for i := range 3 {
		go func() { ch <- i }()
	}
	<-ch
}
`

// TestStandaloneJSONAndVetTool builds leakvet and runs it both ways over a
// module with one leak: standalone with -json, and as go vet's tool.
func TestStandaloneJSONAndVetTool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs go vet")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "leakvet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mod := filepath.Join(dir, "leaky")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"go.mod": "module example.com/leaky\n\ngo 1.26\n", "leaky.go": leakyModule, "leaky_test.go": leakyTest} {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=")

	standalone := exec.Command(bin, "-json", "./...")
	standalone.Dir, standalone.Env = mod, env
	out, err := standalone.Output()
	if err != nil {
		t.Fatalf("leakvet -json: %v\n%s", err, out)
	}
	var report map[string]map[string][]struct{ Posn, Message string }
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("leakvet -json printed no JSON: %v\n%s", err, out)
	}
	diags := report["example.com/leaky"]["leaksend"]
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "goroutine leaks") || !strings.HasSuffix(diags[0].Posn, "leaky.go:8:2") {
		t.Errorf("leaksend reports = %+v, want one at leaky.go:8:2", diags)
	}

	vet := exec.Command("go", "vet", "-vettool="+bin, "./...")
	vet.Dir, vet.Env = mod, env
	out, err = vet.CombinedOutput()
	if err == nil {
		t.Fatalf("go vet -vettool=leakvet succeeded on a leak:\n%s", out)
	}
	if !strings.Contains(string(out), "leaky.go:8:2: goroutine leaks") || strings.Contains(string(out), "leaky_test.go") {
		t.Errorf("go vet -vettool=leakvet output lacks the report, or reports the test's shape of low precision:\n%s", out)
	}

	all := exec.Command("go", "vet", "-vettool="+bin, "-leakvet.all", "./...")
	all.Dir, all.Env = mod, env
	out, _ = all.CombinedOutput()
	if !strings.Contains(string(out), "leaky.go:8:2: goroutine leaks") || !strings.Contains(string(out), "leaky_test.go:8:3: goroutine leaks") {
		t.Errorf("go vet -vettool=leakvet -leakvet.all output lacks a report:\n%s", out)
	}
}
