package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every bad flag or environment value stops its command with exit code 2
// and one line naming the flag (and the variable it came from), before
// anything starts: the test holds the --http port, so a command that got
// as far as binding would fail on it instead, and the database file must
// not exist afterwards.
func TestBadFlagsStopBeforeAnythingStarts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "tw.db")
	aFile := filepath.Join(dir, "file")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	serve := []string{"serve", "--db", db, "--http", busy.Addr().String(), "--admin", "127.0.0.1:0"}
	checker := append([]string{"serve", "checker"}, serve[1:]...)
	urls := []string{"--subjects-url", "http://127.0.0.1:1", "--exposure-url", "https://data.example:8443/x", "--events-url", "http://[::1]:1"}
	lb := filepath.Join(dir, "lb.csv")
	os.WriteFile(lb, []byte(`"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD"`+"\n"+`"S1","LB","01",1,"ALT"`+"\n"), 0o600)

	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in the one line on stderr
	}{
		{"rate Inf", args(serve, "--rate-limit", "Inf"), nil, `--rate-limit "+Inf": want a positive, finite number`},
		{"rate NaN", args(serve, "--rate-limit", "NaN"), nil, `--rate-limit "NaN": want a positive, finite number`},
		{"rate 0", args(serve, "--rate-limit", "0"), nil, `--rate-limit "0"`},
		{"rate negative", args(serve, "--rate-limit", "-3"), nil, `--rate-limit "-3"`},
		{"rate refilling for ever", args(serve, "--rate-limit", "1e-300"), nil, `--rate-limit "1e-300": with --rate-burst 200: `},
		{"burst 0", args(serve, "--rate-burst", "0"), nil, `--rate-burst "0": want a positive whole number`},
		{"bad-auth rate Inf", args(serve, "--bad-auth-limit", "inf"), nil, `--bad-auth-limit "+Inf"`},
		{"bad-auth burst negative", args(serve, "--bad-auth-burst", "-1"), nil, `--bad-auth-burst "-1"`},
		{"login rate 0", args(serve, "--login-limit", "0"), nil, `--login-limit "0": want a positive, finite number`},
		{"login burst 0", args(serve, "--login-burst", "0"), nil, `--login-burst "0": want a positive whole number`},
		{"login workers 0", args(serve, "--login-workers", "0"), nil, `--login-workers "0": want a positive whole number`},
		{"login queue negative", args(serve, "--login-queue", "-1"), nil, `--login-queue "-1": want a positive whole number`},
		{"env login workers", serve, map[string]string{"TRIALWATCH_LOGIN_WORKERS": "0"}, `TRIALWATCH_LOGIN_WORKERS (--login-workers) "0"`},
		{"rate not a number", args(serve, "--rate-limit", "lots"), nil, `--rate-limit "lots": want a number`},
		{"max-body 0", args(serve, "--max-body", "0"), nil, `--max-body "0"`},
		{"max-upload negative", args(serve, "--max-upload", "-5"), nil, `--max-upload "-5"`},
		{"max-decompressed 0", args(serve, "--max-decompressed", "0"), nil, `--max-decompressed "0": want a positive whole number`},
		{"max-record negative", args(serve, "--max-record", "-1"), nil, `--max-record "-1": want a positive whole number`},
		{"max-value 0", args(serve, "--max-value", "0"), nil, `--max-value "0": want a positive whole number`},
		{"max-value past max-record", args(serve, "--max-value", "2048", "--max-record", "1024"), nil, `--max-value "2048": want at most --max-record 1024: a value is part of a record`},
		{"max-json-depth 0", args(serve, "--max-json-depth", "0"), nil, `--max-json-depth "0": want a positive whole number`},
		{"max-problems not a number", args(serve, "--max-problems", "all"), nil, `--max-problems "all": want a whole number`},
		{"env max-problems 0", serve, map[string]string{"TRIALWATCH_MAX_PROBLEMS": "0"}, `TRIALWATCH_MAX_PROBLEMS (--max-problems) "0": want a positive whole number`},
		{"check-deadline 0", args(serve, "--check-deadline", "0"), nil, `--check-deadline "0s": want a positive duration`},
		{"check-deadline negative", args(serve, "--check-deadline", "-1s"), nil, `--check-deadline "-1s"`},
		{"check-workers 0", args(serve, "--check-workers", "0"), nil, `--check-workers "0"`},
		{"read-timeout 0", args(serve, "--read-timeout", "0s"), nil, `--read-timeout "0s"`},
		{"shutdown-grace negative", args(serve, "--shutdown-grace", "-1m"), nil, `--shutdown-grace "-1m0s"`},
		{"service-token-file missing", args(serve, "--service-token-file", missing), nil, `--service-token-file "` + missing + `": no such file`},
		{"service-token-file a directory", args(serve, "--service-token-file", dir), nil, `--service-token-file "` + dir + `": a directory`},
		{"tls-cert missing", args(serve, "--tls-cert", missing, "--tls-key", aFile), nil, `--tls-cert "` + missing + `": no such file`},
		{"tls-key missing", args(serve, "--tls-cert", aFile, "--tls-key", missing), nil, `--tls-key "` + missing + `": no such file`},
		{"leak-snapshots not creatable", args(serve, "--leak-snapshots", filepath.Join(aFile, "dumps")), nil, `--leak-snapshots "` + filepath.Join(aFile, "dumps") + `": not a directory`},
		{"http not an address", args(serve, "--http", "localhost"), nil, `--http "localhost": want HOST:PORT`},
		{"admin port out of range", args(serve, "--admin", "127.0.0.1:99999"), nil, `--admin "127.0.0.1:99999": the port is not a number`},
		{"log level", args(serve, "--log-level", "loud"), nil, `--log-level "loud": want debug, info, warn or error`},
		{"log format", args(serve, "--log-format", "xml"), nil, `--log-format "xml": want text or json`},
		{"env log format", serve, map[string]string{"TRIALWATCH_LOG_FORMAT": "yaml"}, `TRIALWATCH_LOG_FORMAT (--log-format) "yaml": want text or json`},
		{"db empty", args(serve, "--db", ""), nil, `--db: required`},
		{"upstream ftp", args(checker, append(urls, "--subjects-url", "ftp://data/x")...), nil, `--subjects-url "ftp://data/x": want an http:// or https:// URL`},
		{"upstream relative", args(checker, append(urls, "--events-url", "/events")...), nil, `--events-url "/events": want an http:// or https:// URL`},
		{"upstream without host", args(checker, append(urls, "--exposure-url", "http://")...), nil, `--exposure-url "http://": the URL names no host`},
		{"upstream not a URL", args(checker, append(urls, "--exposure-url", "http://a b:x")...), nil, `--exposure-url "http://a b:x": not a URL`},
		{"upstreams missing", checker, nil, "missing --subjects-url, --exposure-url, --events-url"},
		{"demo", []string{"demo", "--http", busy.Addr().String(), "--check-workers", "-2"}, nil, `--check-workers "-2"`},

		{"env rate Inf", serve, map[string]string{"TRIALWATCH_RATE_LIMIT": "Inf"}, `TRIALWATCH_RATE_LIMIT (--rate-limit) "+Inf": want a positive, finite number`},
		{"env deadline 0", serve, map[string]string{"TRIALWATCH_CHECK_DEADLINE": "0s"}, `TRIALWATCH_CHECK_DEADLINE (--check-deadline) "0s"`},
		{"env log level", serve, map[string]string{"TRIALWATCH_LOG_LEVEL": "loud"}, `TRIALWATCH_LOG_LEVEL (--log-level) "loud"`},
		{"env workers not a number", serve, map[string]string{"TRIALWATCH_CHECK_WORKERS": "many"}, `TRIALWATCH_CHECK_WORKERS (--check-workers) "many": want a whole number`},
		{"env upstream", args(checker, urls...)[:len(checker)+4], map[string]string{"TRIALWATCH_EVENTS_URL": "events:9000"}, `TRIALWATCH_EVENTS_URL (--events-url) "events:9000": want an http:// or https:// URL`},
		{"env flag wins", args(serve, "--log-level", "loud"), map[string]string{"TRIALWATCH_LOG_LEVEL": "debug"}, `--log-level "loud"`},

		{"import chunk 0", []string{"import", "--db", db, "--study", "S1", "--chunk", "0", lb}, nil, `--chunk "0": want a positive whole number`},
		{"import study empty", []string{"import", "--db", db, lb}, nil, `--study: required`},
		{"import db from env", []string{"import", "--study", "S1", lb}, map[string]string{"TRIALWATCH_DB": ""}, `TRIALWATCH_DB (--db): required`},
		{"gen-study subjects 0", []string{"gen-study", "--out", filepath.Join(dir, "gen"), "--subjects", "0"}, nil, `--subjects "0"`},
		{"gen-study labs negative", []string{"gen-study", "--out", filepath.Join(dir, "gen"), "--labs-per-subject", "-1"}, nil, `--labs-per-subject "-1"`},
		{"gen-study no out", []string{"gen-study"}, nil, `--out: required`},
		{"grade criteria", []string{"grade", "--lb", lb, "--criteria", "ctcae-v9"}, nil, `--criteria "ctcae-v9": unknown grading criteria`},
		{"grade criteria from env", []string{"grade", "--lb", lb}, map[string]string{"TRIALWATCH_CRITERIA": "ctcae-v9"}, `TRIALWATCH_CRITERIA (--criteria) "ctcae-v9"`},
		{"user add db empty", []string{"user", "add", "--db", "", "--name", "x", "--role", "admin"}, nil, `--db: required`},
		{"token expires negative", []string{"token", "create", "--db", db, "--user", "x", "--expires", "-1h"}, nil, `--expires "-1h0m0s": want a duration of 0 or more`},
		{"audit anchor", []string{"audit", "verify", "--db", db, "--anchor", "12"}, nil, `--anchor "12": want SEQ:HASH`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stderr strings.Builder
			code := run(context.Background(), tt.args, io.Discard, &stderr)
			line := stderr.String()
			if code != 2 || !strings.Contains(line, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, line, tt.want)
			}
			if first, _, _ := strings.Cut(line, "\n"); !strings.Contains(first, tt.want) {
				t.Errorf("the first line %q does not explain it", first)
			}
			if strings.HasPrefix(line, "trialwatch: ") && strings.Count(line, "\n") != 1 {
				t.Errorf("not one line: %q", line)
			}
			for _, made := range []string{db, filepath.Join(dir, "gen")} {
				if _, err := os.Stat(made); err == nil {
					t.Errorf("%s was created", made)
					os.RemoveAll(made)
				}
			}
		})
	}
}

// args is base with more appended, in a new slice.
func args(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// Good values pass the checks: a command that gets past them reaches the
// held --http port and fails there (exit 1), not on a flag.
func TestGoodFlagsPassTheChecks(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	t.Setenv("TRIALWATCH_SERVICE_TOKEN", e2eServiceToken)
	t.Setenv("TRIALWATCH_SHUTDOWN_GRACE", "1ms")
	t.Setenv("TRIALWATCH_BAD_AUTH_LIMIT", "0.001")
	for _, a := range [][]string{
		{"serve", "--rate-limit", "1e6", "--rate-burst", "1", "--login-limit", "0.5", "--login-burst", "3", "--login-workers", "3", "--login-queue", "1", "--leak-snapshots", filepath.Join(dir, "new", "dumps"), "--log-level", "DEBUG", "--admin", ":0"},
		{"serve", "checker", "--subjects-url", "http://subjects:8080", "--exposure-url", "https://exposure.internal/base/", "--events-url", "http://10.0.0.7:80", "--check-deadline", "1ms", "--admin", "[::1]:0"},
	} {
		var stderr strings.Builder
		code := run(context.Background(), args(a, "--db", filepath.Join(dir, "tw.db"), "--http", busy.Addr().String()), io.Discard, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "--http "+busy.Addr().String()+": ") {
			t.Errorf("%q: exit %d, %q; want 1, failing to bind --http", a, code, stderr.String())
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "new", "dumps")); err != nil || !st.IsDir() {
		t.Errorf("--leak-snapshots was not made: %v", err)
	}
}
