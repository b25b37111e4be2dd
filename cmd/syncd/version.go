package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

// version is set by the linker (-ldflags "-X main.version=…") for a
// release; otherwise the Go toolchain's build info names the module
// version, which `go build` derives from the VCS (a tag, or a
// pseudo-version of the commit).
var version = ""

// buildVersion is the version syncd reports: the linker's, else the
// module's, else "devel".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// buildRevision is the VCS commit the binary was built from, with
// "+modified" when the working tree had uncommitted changes, or "" when
// the build recorded none (`go run`, -buildvcs=false).
func buildRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return ""
	}
	if modified {
		rev += "+modified"
	}
	if at != "" {
		rev += " (" + at + ")"
	}
	return rev
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the commit it was built from and the Go toolchain",
		Action: func(c *cli.Context) error {
			var b strings.Builder
			fmt.Fprintf(&b, "syncd %s\n", buildVersion())
			if rev := buildRevision(); rev != "" {
				fmt.Fprintf(&b, "commit %s\n", rev)
			} else {
				b.WriteString("commit unknown (built without VCS information, e.g. by `go run`)\n")
			}
			fmt.Fprintf(&b, "go %s %s/%s\n", strings.TrimPrefix(runtime.Version(), "go"), runtime.GOOS, runtime.GOARCH)
			_, err := fmt.Fprint(c.App.Writer, b.String())
			return err
		},
	}
}
