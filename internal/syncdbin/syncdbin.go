// Package syncdbin builds the syncd binary for end-to-end tests, which run
// it as a subprocess the way an operator would.
package syncdbin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build compiles ./cmd/syncd into dir and returns the binary's path. It is
// built without -race even when the tests run with it: the binary is the
// thing under test, not the test's code.
func Build(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command: %w", err)
	}
	bin := filepath.Join(dir, "syncd")
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/syncd")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/syncd: %w\n%s", err, out)
	}
	return bin, nil
}

// RepoRoot walks up from the working directory to the folder with go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}
