package readmetest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestBlocks(t *testing.T) {
	md := "intro\n\n" +
		"<!-- readme-test: skip serves forever -->\n" +
		"```sh\nserve --forever\n```\n\n" +
		"```go\nnot shell\n```\n\n" +
		"1. a list item:\n" +
		"   ```sh\n" +
		"   # a comment line\n" +
		"   curl -s -X PUT http://127.0.0.1:8080/x \\\n" +
		"     -d '{\"a\": 1,\n" +
		"          \"b\": 2}'\n" +
		"   curl -s 'http://127.0.0.1:8080/y?a=1#frag'   # expect: 404\n" +
		"   echo \"a # not a comment\" # but this is, with no expectation's tag: it's fine\n" +
		"   ```\n"
	bs, err := Blocks("x.md", strings.NewReader(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 {
		t.Fatalf("%d blocks, want 2 (the go block is not shell)", len(bs))
	}
	if bs[0].Skip != "serves forever" || bs[0].Line != 4 || len(bs[0].Commands) != 1 {
		t.Errorf("first block %+v", bs[0])
	}
	cs := bs[1].Commands
	if bs[1].Skip != "" || len(cs) != 3 {
		t.Fatalf("second block: skip %q, commands %+v", bs[1].Skip, cs)
	}
	// A backslash continues the command, and so does a quote left open.
	if cs[0].Line != 15 || !strings.HasPrefix(cs[0].Text, "curl -s -X PUT") || strings.Count(cs[0].Text, "\n") != 2 || cs[0].Expect != 0 {
		t.Errorf("first command %+v", cs[0])
	}
	if cs[1].Expect != 404 || cs[1].Line != 18 {
		t.Errorf("second command %+v, want expect 404 on line 18", cs[1])
	}
	if cs[2].Expect != 0 {
		t.Errorf("third command %+v", cs[2])
	}
	if _, err := Blocks("x.md", strings.NewReader("```sh\necho 'open\n```\n")); err == nil {
		t.Error("a command with an open quote at the end of its block was accepted")
	}
}

// TestRunBlockFails: the harness reports a command that exits non-zero,
// one answered 4xx or 5xx, and one whose expected error did not come; and
// passes the rest. (A harness that never fails proves nothing.)
func TestRunBlockFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("fine"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	api := strings.TrimPrefix(srv.URL, "http://")
	b := Block{File: "x.md", Line: 1, Commands: []Command{
		{Line: 2, Text: "curl -s http://127.0.0.1:8080/ok"},
		{Line: 3, Text: "curl -s http://127.0.0.1:8080/missing"},
		{Line: 4, Text: "curl -s http://127.0.0.1:8080/missing", Expect: 404},
		{Line: 5, Text: "curl -s http://127.0.0.1:8080/ok", Expect: 404},
		{Line: 6, Text: "false"},
		{Line: 7, Text: "V=$(curl -s http://127.0.0.1:8080/ok)\n[ \"$V\" = fine ]"},
		{Line: 9, Text: "curl -s http://127.0.0.1:8080/ok | grep -q nothing-like-it"},
	}}
	problems, _ := runBlock(t.Context(), b, t.TempDir(), os.Environ(), api, api)
	var lines []string
	for _, p := range problems {
		lines = append(lines, strings.SplitN(p, ":", 3)[1])
	}
	if got := strings.Join(lines, ","); got != "3,5,6,9" {
		t.Errorf("problems on lines %s, want 3,5,6,9:\n%s", got, strings.Join(problems, "\n"))
	}
}
