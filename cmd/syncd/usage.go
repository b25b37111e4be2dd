package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// withUsageErrors makes every command answer a bad flag with one line that
// names the flag and what it takes, instead of urfave/cli's default: the
// flag package's message ("invalid value "1x" for flag -since: parse
// error") followed by the whole help text.
func withUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = usageError
		}
		withUsageErrors(c.Subcommands)
	}
}

var (
	badValue    = regexp.MustCompile(`^invalid value "(.*)" for flag -([^:]+): (.*)$`)
	unknownFlag = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
)

func usageError(c *cli.Context, err error, _ bool) error {
	name := "syncd"
	var flags []cli.Flag
	if c.Command != nil {
		flags = c.Command.Flags
		if c.Command.HelpName != "" {
			name = c.Command.HelpName
		}
	}
	msg := err.Error()
	if m := badValue.FindStringSubmatch(msg); m != nil {
		value, flag := m[1], m[2]
		switch lookupFlag(flags, flag).(type) {
		case *cli.DurationFlag:
			msg = fmt.Sprintf("--%s: %q is not a duration: write a number with a unit, e.g. 90s, 30m or 24h", flag, value)
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag:
			msg = fmt.Sprintf("--%s: %q is not a whole number", flag, value)
		default:
			msg = fmt.Sprintf("--%s: invalid value %q: %s", flag, value, m[3])
		}
	} else if m := unknownFlag.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown flag --%s", m[1])
	}
	return cli.Exit(fmt.Sprintf("%s (see `%s --help`)", msg, name), 2)
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name || strings.TrimLeft(n, "-") == name {
				return f
			}
		}
	}
	return nil
}
