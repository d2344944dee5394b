package main

import (
	"maps"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trialwatch/trialwatch/internal/configfile"
)

// configFile is the --config file of a run, or nil without one.
type configFile struct{ *configfile.File }

// configValue is a value of the file and where it is (PATH:LINE).
type configValue struct{ text, where string }

func (f *configFile) value(name string) (configValue, bool) {
	if f == nil {
		return configValue{}, false
	}
	v, ok := f.Values[name]
	if !ok {
		return configValue{}, false
	}
	return configValue{v.Text, f.Where(name)}, true
}

// configFile reads the --config file (or TRIALWATCH_CONFIG's) once per
// run. Its keys are flag names: one no command has is an error, one
// another command has is left to it, so one file may serve several
// commands.
func (c *cli) configFile() (*configFile, error) {
	if c.configRead {
		return c.config, c.configErr
	}
	c.configRead = true
	path, from := c.configPath, "--config"
	if f := c.root.PersistentFlags().Lookup("config"); (f == nil || !f.Changed) && hasEnv("TRIALWATCH_CONFIG") {
		path, from = os.Getenv("TRIALWATCH_CONFIG"), "TRIALWATCH_CONFIG (--config)"
	}
	if path == "" {
		return nil, nil
	}
	known := c.flagNames()
	f, err := configfile.Read(path, known)
	if err != nil {
		if os.IsNotExist(err) || os.IsPermission(err) {
			c.configErr = &flagError{flag: "config", from: envFrom(from), value: path, reason: unwrapPathErr(err)}
		} else {
			c.configErr = usageError{err.Error()}
		}
		return nil, c.configErr
	}
	c.config = &configFile{f}
	return c.config, nil
}

func envFrom(from string) string {
	if from == "--config" {
		return ""
	}
	return "TRIALWATCH_CONFIG"
}

// flagNames are the flags any command of the tree takes, but those only
// the command line sets.
func (c *cli) flagNames() []string {
	names := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(c.root)
	for _, name := range []string{"config", "help", "version"} {
		delete(names, name)
	}
	return slices.Sorted(maps.Keys(names))
}
