// Package configfile reads an optional YAML configuration file of a
// command: one mapping of flag names to single values, such as
//
//	db: postgres://trialwatch@db:5432/trialwatch
//	http: :8080
//	check-workers: 8
//
// It only reads: the command decides which names it knows and parses the
// values as it parses its flags, so a value in the file is checked like
// the same value on the command line.
package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Value is one key's value as written, and where.
type Value struct {
	Text string
	Line int
}

// File is a configuration file read.
type File struct {
	Path   string
	Values map[string]Value
}

// Where names the line of key's value, as PATH:LINE.
func (f *File) Where(key string) string { return fmt.Sprintf("%s:%d", f.Path, f.Values[key].Line) }

// Read reads the file at path. known are the keys that name a setting;
// an unknown key is an error naming it and its line (and the known key
// it is closest to, if one is close), so a misspelt setting is never
// silently ignored.
func Read(path string, known []string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, known)
}

// Parse is Read of data, which came from path.
func Parse(path string, data []byte, known []string) (*File, error) {
	f := &File{Path: path, Values: map[string]Value{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return f, nil // empty: nothing set
	} else if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s:%d: want one YAML document, found another", path, more.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of flag names to values, such as \"db: trialwatch.db\"", path, root.Line)
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: a key must be a flag name", path, k.Line)
		}
		key := k.Value
		if !slices.Contains(known, key) {
			hint := ""
			if near := closest(key, known); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			return nil, fmt.Errorf("%s:%d: unknown key %q: not a trialwatch flag%s", path, k.Line, key, hint)
		}
		if first, ok := f.Values[key]; ok {
			return nil, fmt.Errorf("%s:%d: key %q given again (first on line %d)", path, k.Line, key, first.Line)
		}
		line := v.Line
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s:%d: %s: want a single value, not a list or mapping (sites are comma-separated: \"701,702\")", path, line, key)
		}
		if v.Tag == "!!null" {
			return nil, fmt.Errorf("%s:%d: %s: no value", path, line, key)
		}
		f.Values[key] = Value{Text: v.Value, Line: line}
	}
	return f, nil
}

// closest is the known key at most two edits from key, if there is one.
func closest(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := distance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
