// Package flagset gives each command of a cobra command line flags whose
// values may also come from the environment (PREFIX_<FLAG>) or a YAML
// configuration file (package configfile), and that are checked before
// the command runs: a flag on the command line wins over the
// environment, which wins over the file, which wins over the default.
// A value the command cannot run with is an *Error: one line naming the
// flag, and the variable or file line it came from.
package flagset

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trialwatch/trialwatch/internal/configfile"
)

// Set is one command's flags, defined as Go flags (their values are what
// the checks read) and handed to the command's pflag set, so they may
// come anywhere on the command line. Resolve fills each flag not given
// there from the environment, then from the configuration file, then
// checks every value, so a bad one stops the command before it binds,
// opens or writes anything.
type Set struct {
	*flag.FlagSet
	cmd    *cobra.Command
	prefix string                           // of the environment variables, e.g. TRIALWATCH
	config func() (*configfile.File, error) // the configuration file, nil without one
	from   map[string]string                // flag name → the variable or file:line that set it
	checks []func() error
}

// New gives cmd a set of flags read from the environment variables
// prefix_<FLAG> and from the file config returns (nil: none); define
// them, then call Bind.
func New(cmd *cobra.Command, prefix string, config func() (*configfile.File, error)) *Set {
	return &Set{FlagSet: flag.NewFlagSet(cmd.Name(), flag.ContinueOnError), cmd: cmd, prefix: prefix, config: config,
		from: map[string]string{}}
}

// Bind hands the flags defined so far to the command's parser.
func (s *Set) Bind() { s.cmd.Flags().AddGoFlagSet(s.FlagSet) }

// Error is a flag, environment or configuration-file value the command
// cannot run with, explained in one line naming the flag, and the
// variable or file line when the value came from there. Without a Flag
// it is Reason alone, a mistake of several flags together.
type Error struct {
	Flag, From, Value, Reason string
}

func (e *Error) Error() string {
	if e.Flag == "" {
		return e.Reason
	}
	name := "--" + e.Flag
	if e.From != "" {
		name = e.From + " (--" + e.Flag + ")"
	}
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", name, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", name, e.Value, e.Reason)
}

// Bad is flag name's value refused for reason.
func (s *Set) Bad(name, reason string) error {
	e := &Error{Flag: name, From: s.from[name], Reason: reason}
	if f := s.Lookup(name); f != nil {
		e.Value = f.Value.String()
	}
	return e
}

// A Rule says why a flag's parsed value (a string, int, float64,
// time.Duration...) is bad, or "" when it is good.
type Rule func(v any) string

// Check makes Resolve refuse flag name's value when a rule says why it
// is bad.
func (s *Set) Check(name string, rules ...Rule) {
	if s.Lookup(name) == nil {
		panic("check of undefined flag --" + name)
	}
	s.checks = append(s.checks, func() error {
		v := s.Lookup(name).Value.(flag.Getter).Get()
		for _, rule := range rules {
			if reason := rule(v); reason != "" {
				return s.Bad(name, reason)
			}
		}
		return nil
	})
}

// Also makes Resolve run a check of several flags, after those of each.
func (s *Set) Also(check func() error) { s.checks = append(s.checks, check) }

// Given says whether flag name was on the command line.
func (s *Set) Given(name string) bool {
	f := s.cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// Resolve fills each flag not given on the command line from the
// environment, so containers can be configured by environment alone,
// else from the configuration file, and checks the values.
func (s *Set) Resolve() error {
	var file *configfile.File
	if s.config != nil {
		var err error
		if file, err = s.config(); err != nil {
			return err
		}
	}
	var names []string
	s.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	for _, name := range names {
		if s.Given(name) {
			continue
		}
		f := s.Lookup(name)
		if env := EnvName(s.prefix, name); hasEnv(env) {
			v := os.Getenv(env)
			if err := f.Value.Set(v); err != nil {
				return &Error{Flag: name, From: env, Value: v, Reason: wantOf(f, err)}
			}
			s.from[name] = env
		} else if v, ok := fileValue(file, name); ok {
			if err := f.Value.Set(v.Text); err != nil {
				return &Error{Flag: name, From: file.Where(name), Value: v.Text, Reason: wantOf(f, err)}
			}
			s.from[name] = file.Where(name)
		}
	}
	for _, check := range s.checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func fileValue(f *configfile.File, name string) (configfile.Value, bool) {
	if f == nil {
		return configfile.Value{}, false
	}
	v, ok := f.Values[name]
	return v, ok
}

func hasEnv(name string) bool { _, ok := os.LookupEnv(name); return ok }

// EnvName is the environment variable of a flag: prefix_FLAG_NAME.
func EnvName(prefix, flagName string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// wantOf says what flag f takes, for a value it could not be set to.
func wantOf(f *flag.Flag, err error) string {
	return Want(fmt.Sprintf("%T", f.Value.(flag.Getter).Get()), err)
}

// Want says what a flag of a type (as pflag names it: int, float64,
// duration...) takes, for a value it could not be set to.
func Want(typ string, err error) string {
	switch typ {
	case "int", "int64", "uint64":
		return "want a whole number"
	case "float64":
		return "want a number"
	case "time.Duration", "duration":
		return "want a duration, such as 30s or 5m"
	case "bool":
		return "want true or false"
	}
	return err.Error()
}
