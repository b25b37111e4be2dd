package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// A bad flag gets one line naming the flag and what it takes, exit 2, and
// not the whole help text.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"requeue", "--since", "1x"}, []string{`--since: "1x" is not a duration`, "24h", "syncd requeue --help"}},
		{[]string{"inject", "--wait", "10", "hi"}, []string{`--wait: "10" is not a duration`}},
		{[]string{"requeue", "--orphans"}, []string{"unknown flag --orphans", "syncd requeue --help"}},
		{[]string{"requeue", "--since", "-24h"}, []string{"--since", "not a positive duration"}},
		{[]string{"requeue", "--since", "0"}, []string{"--since", "not a positive duration"}},
		{[]string{"run", "--shutdown-timeout=soon"}, []string{"--shutdown-timeout", "not a duration"}},
		{[]string{"agent", "add", "--nope", "x"}, []string{"unknown flag --nope"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			app := newApp()
			var out, errOut bytes.Buffer
			app.Writer, app.ErrWriter = &out, &errOut
			err := app.Run(append([]string{"syncd"}, tc.args...))
			var ec cli.ExitCoder
			if !errors.As(err, &ec) || ec.ExitCode() != 2 {
				t.Fatalf("error %v, want an exit code 2", err)
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if all := out.String() + errOut.String(); strings.Contains(all, "USAGE:") || strings.Contains(all, "OPTIONS:") {
				t.Errorf("printed the help text:\n%s", all)
			}
		})
	}
}
