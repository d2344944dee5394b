// Package readmetest runs the shell examples of the repository's READMEs
// against a fresh demo, so that the documentation cannot drift from the
// code: see README_test.go for the conventions a README follows.
package readmetest

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Block is one fenced shell block of a Markdown file.
type Block struct {
	File string
	Line int // of the opening fence
	// Skip is why the block does not run in the test ("" when it runs):
	// the text of a <!-- readme-test: skip REASON --> comment on the line
	// before the fence.
	Skip     string
	Commands []Command
}

// Command is one shell command of a block: a logical line, with its
// continuation lines and any quoted text spanning lines.
type Command struct {
	Line int // in the file, of its first line
	Text string
	// Expect is the HTTP status the command's request is meant to get,
	// from a "# expect: NNN" comment on it; 0 means success: exit 0 and
	// no answer of 400 or more.
	Expect int
}

var (
	fenceOpen  = regexp.MustCompile("^( *)```(sh|bash|shell)\\s*$")
	fenceClose = regexp.MustCompile("^ *```\\s*$")
	skipMarker = regexp.MustCompile(`^\s*<!--\s*readme-test:\s*skip\s+(.+?)\s*-->\s*$`)
	expectTag  = regexp.MustCompile(`\bexpect:\s*(\d{3})\b`)
)

// Blocks reads the shell blocks (```sh, ```bash, ```shell) of a Markdown
// file, indented ones (in list items) included.
func Blocks(file string, r io.Reader) ([]Block, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var (
		out    []Block
		cur    *Block
		indent int
		body   []string
		start  int
		prev   string // the last non-blank line before a fence
		n      int
	)
	for sc.Scan() {
		n++
		line := sc.Text()
		if cur == nil {
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				cur = &Block{File: file, Line: n}
				if s := skipMarker.FindStringSubmatch(prev); s != nil {
					cur.Skip = s[1]
				}
				indent, body, start = len(m[1]), nil, n+1
				continue
			}
			if strings.TrimSpace(line) != "" {
				prev = line
			}
			continue
		}
		if fenceClose.MatchString(line) {
			cmds, err := commands(body, start)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, cur.Line, err)
			}
			cur.Commands = cmds
			out = append(out, *cur)
			cur, prev = nil, ""
			continue
		}
		// Drop the fence's indentation, no more.
		trim := 0
		for trim < indent && trim < len(line) && line[trim] == ' ' {
			trim++
		}
		body = append(body, line[trim:])
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the block is never closed", file, cur.Line)
	}
	return out, sc.Err()
}

// commands splits a block's lines into commands, as a shell reads them:
// a line ending in a backslash, or inside quotes, goes on.
func commands(lines []string, first int) ([]Command, error) {
	var out []Command
	var text []string
	var sc shellScan
	begin := 0
	for i, line := range lines {
		if len(text) == 0 {
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
				continue // a comment or blank line between commands
			}
			begin = i
		}
		text = append(text, line)
		if sc.line(line) {
			continue
		}
		cmd := Command{Line: first + begin, Text: strings.Join(text, "\n")}
		if m := expectTag.FindStringSubmatch(sc.comments); m != nil {
			cmd.Expect, _ = strconv.Atoi(m[1])
		}
		out = append(out, cmd)
		text, sc = nil, shellScan{}
	}
	if len(text) > 0 {
		return nil, fmt.Errorf("line %d: the command goes on past the end of the block (an open quote or a trailing backslash)", first+begin)
	}
	return out, nil
}

// shellScan follows a command's quoting across lines, enough for examples:
// single and double quotes, backslash escapes and comments.
type shellScan struct {
	single, double bool
	comments       string // the text of the command's comments
}

// line scans one more line and reports whether the command goes on.
func (s *shellScan) line(line string) bool {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case s.single:
			s.single = c != '\''
		case c == '\\':
			if i == len(line)-1 {
				return true // a continuation
			}
			i++
		case s.double:
			s.double = c != '"'
		case c == '\'':
			s.single = true
		case c == '"':
			s.double = true
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			s.comments += line[i:] + "\n"
			return false
		}
	}
	return s.single || s.double
}
