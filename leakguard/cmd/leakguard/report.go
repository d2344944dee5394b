package main

import (
	"fmt"
	"io"
	"os"

	"github.com/trialwatch/trialwatch/leakguard/stackdump"
)

// stdin is a variable so tests can feed "analyze -".
var stdin io.Reader = os.Stdin

func runAnalyze(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("analyze", "FILE|-", stderr)
	format := fs.String("format", "text", "output format: text, json or html")
	top := fs.Int("top", 20, "show the `N` largest groups (0: all)")
	frames := fs.Int("frames", 0, "print `N` frames of each group's stack (text format)")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	write, err := groupWriter(*format)
	if err != nil {
		return err
	}
	groups, err := loadGroups(fs.Arg(0))
	if err != nil {
		return err
	}
	return write(stdout, groups, stackdump.ReportOptions{Top: *top, Frames: *frames})
}

func runDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("diff", "OLD NEW", stderr)
	format := fs.String("format", "text", "output format: text or json")
	top := fs.Int("top", 20, "show the `N` largest changes (0: all)")
	frames := fs.Int("frames", 0, "print `N` frames of each group's stack (text format)")
	all := fs.Bool("all", false, "include groups whose size did not change")
	if err := parseFlags(fs, args, 2); err != nil {
		return err
	}
	write, err := diffWriter(*format)
	if err != nil {
		return err
	}
	before, err := loadGroups(fs.Arg(0))
	if err != nil {
		return err
	}
	after, err := loadGroups(fs.Arg(1))
	if err != nil {
		return err
	}
	opt := stackdump.ReportOptions{Top: *top, Frames: *frames, All: *all}
	return write(stdout, stackdump.Diff(before, after), opt)
}

type groupWriterFunc func(io.Writer, []stackdump.Group, stackdump.ReportOptions) error

type diffWriterFunc func(io.Writer, []stackdump.Change, stackdump.ReportOptions) error

func groupWriter(format string) (groupWriterFunc, error) {
	switch format {
	case "text":
		return stackdump.WriteText, nil
	case "json":
		return stackdump.WriteJSON, nil
	case "html":
		return stackdump.WriteHTML, nil
	}
	return nil, fmt.Errorf("%w: -format %q: want text, json or html", errUsage, format)
}

func diffWriter(format string) (diffWriterFunc, error) {
	switch format {
	case "text":
		return stackdump.WriteDiffText, nil
	case "json":
		return stackdump.WriteDiffJSON, nil
	}
	return nil, fmt.Errorf("%w: -format %q: want text or json", errUsage, format)
}

// loadGroups parses and groups a dump file, or standard input for "-".
func loadGroups(path string) ([]stackdump.Group, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	gs, err := stackdump.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("%s: %w", path, errNoGoroutines)
	}
	return stackdump.GroupGoroutines(gs), nil
}
