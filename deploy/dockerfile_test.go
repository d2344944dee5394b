package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, its continuation lines joined.
type instruction struct {
	cmd, args string
	line      int
}

func readDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ignored says whether .dockerignore's patterns keep path (relative to the
// build context) out of the context: the forms the file uses, a path, a
// glob, and **/ before a glob.
func ignored(patterns []string, path string) bool {
	for _, p := range patterns {
		if glob, ok := strings.CutPrefix(p, "**/"); ok {
			if m, _ := filepath.Match(glob, filepath.Base(path)); m {
				return true
			}
			continue
		}
		p = strings.TrimPrefix(p, "/")
		if m, _ := filepath.Match(p, path); m || path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func dockerignore(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if strings.HasPrefix(l, "!") {
				t.Fatalf(".dockerignore: %q: this test does not read exceptions", l)
			}
			patterns = append(patterns, l)
		}
	}
	return patterns
}

// The Dockerfile builds what the tests build (static, trimmed), from
// files the build context has, and runs it as a non-root user with the
// health check it builds.
func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t, "../Dockerfile")
	patterns := dockerignore(t)
	var stages, copied []string
	var user, healthcheck, entrypoint string
	var env []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			stages = append(stages, in.args)
		case "ENV":
			env = append(env, in.args)
		case "COPY":
			fields := strings.Fields(in.args)
			if strings.HasPrefix(fields[0], "--from=") {
				continue
			}
			for _, src := range fields[:len(fields)-1] {
				if !strings.HasPrefix(src, "--") {
					copied = append(copied, src)
				}
			}
		case "USER":
			user = in.args
		case "HEALTHCHECK":
			healthcheck = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		}
	}
	if len(stages) < 2 || !strings.HasPrefix(stages[len(stages)-1], "gcr.io/distroless/static") {
		t.Errorf("stages %q: want a build stage, then distroless/static", stages)
	}
	if !slices.ContainsFunc(env, func(e string) bool { return strings.Contains(e, "CGO_ENABLED=0") && strings.Contains(e, "-trimpath") }) {
		t.Errorf("the build stage does not set CGO_ENABLED=0 and -trimpath (as buildAsTheImage builds): %q", env)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if !strings.Contains(healthcheck, `"/usr/local/bin/healthcheck"`) {
		t.Errorf("HEALTHCHECK %q does not run the health check binary", healthcheck)
	}
	if !strings.Contains(entrypoint, `"/usr/local/bin/trialwatch"`) {
		t.Errorf("ENTRYPOINT %q", entrypoint)
	}
	// What the build stage copies from the context exists and is not
	// excluded from it.
	for _, src := range copied {
		if src == "." {
			continue
		}
		if _, err := os.Stat(filepath.Join("..", src)); err != nil {
			t.Errorf("COPY %s: %v", src, err)
		}
		if ignored(patterns, src) {
			t.Errorf("COPY %s: .dockerignore leaves it out of the build context", src)
		}
	}
	// Every directory a go:embed of the module reads, and every source
	// file, is in the context.
	embed := regexp.MustCompile(`(?m)^//go:embed (.+)$`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		if d.IsDir() {
			if rel == ".git" || rel == "examples" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if ignored(patterns, rel) {
			t.Errorf("%s is left out of the build context", rel)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range embed.FindAllStringSubmatch(string(src), -1) {
			for _, pat := range strings.Fields(m[1]) {
				target := filepath.Join(filepath.Dir(rel), strings.Split(pat, "*")[0])
				if ignored(patterns, filepath.Clean(target)) {
					t.Errorf("%s embeds %s, which .dockerignore leaves out", rel, pat)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The health check's module, and the pilot files the import loads.
	for _, need := range []string{"deploy/healthcheck/main.go", "pilotdata/cdiscpilot01/dm.csv.gz"} {
		if ignored(patterns, need) {
			t.Errorf(".dockerignore leaves out %s", need)
		}
	}
}
