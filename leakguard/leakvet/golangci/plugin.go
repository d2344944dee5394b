// Package golangci registers leakvet as a golangci-lint module plugin named
// "leakvet". It lives apart from package leakvet so that programs using the
// analyzers directly do not import github.com/golangci/plugin-module-register.
//
// Build a custom golangci-lint with it (.custom-gcl.yml):
//
//	version: v2.5.0
//	plugins:
//	  - module: github.com/trialwatch/trialwatch/leakguard
//	    import: github.com/trialwatch/trialwatch/leakguard/leakvet/golangci
//	    version: latest
//
// and enable it in .golangci.yml:
//
//	linters:
//	  enable: [leakvet]
//	  settings:
//	    custom:
//	      leakvet:
//	        type: module
//	        settings:
//	          disable: [leakloop] # optional: analyzers to leave out
//	          all: true # optional: also the shapes of low precision (-leakvet.all)
package golangci

import (
	"fmt"
	"slices"

	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"

	"github.com/trialwatch/trialwatch/leakguard/leakvet"
)

func init() { register.Plugin("leakvet", New) }

// Settings are the plugin's settings in .golangci.yml.
type Settings struct {
	// Disable names analyzers (leaksend, leakrecv, leakloop, leakwait) not to run.
	Disable []string `json:"disable"`
	// All reports the shapes of low precision too, as -leakvet.all does.
	All bool `json:"all"`
}

// New builds the plugin from its settings.
func New(raw any) (register.LinterPlugin, error) {
	s, err := register.DecodeSettings[Settings](raw)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, a := range leakvet.Analyzers() {
		known[a.Name] = true
	}
	for _, name := range s.Disable {
		if !known[name] {
			return nil, fmt.Errorf("leakvet settings: disable: unknown analyzer %q (have leaksend, leakrecv, leakloop, leakwait)", name)
		}
	}
	if s.All {
		if err := leakvet.Analyzer.Flags.Set("all", "true"); err != nil {
			return nil, fmt.Errorf("leakvet settings: all: %v", err)
		}
	}
	return plugin{settings: s}, nil
}

type plugin struct{ settings Settings }

func (p plugin) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	var out []*analysis.Analyzer
	for _, a := range leakvet.Analyzers() {
		if !slices.Contains(p.settings.Disable, a.Name) {
			out = append(out, a)
		}
	}
	return out, nil
}

// GetLoadMode asks for type information: the analyzers build SSA.
func (plugin) GetLoadMode() string { return register.LoadModeTypesInfo }
