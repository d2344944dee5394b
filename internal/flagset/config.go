package flagset

import (
	"errors"
	"maps"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trialwatch/trialwatch/internal/configfile"
)

// Config is the configuration file of one run of a command line: named
// by the root's persistent --config flag, else by the environment
// variable prefix_CONFIG, read once. Its keys are flag names: one no
// command has is an error, one another command has is left to it, so one
// file may serve several commands.
type Config struct {
	root   *cobra.Command
	prefix string
	path   string
	file   *configfile.File
	err    error
	read   bool
}

// NewConfig defines --config on root, for all its commands.
func NewConfig(root *cobra.Command, prefix string) *Config {
	c := &Config{root: root, prefix: prefix}
	root.PersistentFlags().StringVar(&c.path, "config", "",
		"YAML file of flag values (flag: value), below flags and "+prefix+"_* variables (or "+prefix+"_CONFIG)")
	return c
}

// SetPath names the file as --config would.
func (c *Config) SetPath(path string) { c.path = path }

// Read reads the file the first time it is called; nil without one.
func (c *Config) Read() (*configfile.File, error) {
	if c.read {
		return c.file, c.err
	}
	c.read = true
	env := c.prefix + "_CONFIG"
	path, from := c.path, ""
	if f := c.root.PersistentFlags().Lookup("config"); (f == nil || !f.Changed) && hasEnv(env) {
		path, from = os.Getenv(env), env
	}
	if path == "" {
		return nil, nil
	}
	f, err := configfile.Read(path, c.flagNames())
	if err != nil {
		if os.IsNotExist(err) || os.IsPermission(err) {
			c.err = &Error{Flag: "config", From: from, Value: path, Reason: unwrapPathErr(err)}
		} else {
			c.err = &Error{Reason: err.Error()}
		}
		return nil, c.err
	}
	c.file = f
	return f, nil
}

// flagNames are the flags any command of the tree takes, but those only
// the command line sets.
func (c *Config) flagNames() []string {
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

func unwrapPathErr(err error) string {
	if pe := (*os.PathError)(nil); errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
