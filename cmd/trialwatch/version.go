package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version describes the build: the module's version, the VCS revision
// and time it was built from (with "modified" when the tree had changes),
// and the Go release.
func version() string { return versionOf(debug.ReadBuildInfo()) }

func versionOf(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "(unknown build) " + runtime.Version()
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "modified"
			}
		}
	}
	var parts []string
	if rev != "" {
		parts = append(parts, "revision "+rev)
	}
	for _, p := range []string{at, modified} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no VCS information")
	}
	return v + " (" + strings.Join(parts, ", ") + ") " + info.GoVersion
}
