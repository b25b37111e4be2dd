package relay

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/syncdbin"
)

// TestCLIPapercuts runs the first commands a new user types, wrongly, and
// checks that each says what happened instead of doing something else.
func TestCLIPapercuts(t *testing.T) {
	env := append(cleanEnv(), "SYNCD_HTTP_ADDR=127.0.0.1:0", "SYNCD_BOT_ENABLED=false")

	t.Run("inject in another folder", func(t *testing.T) {
		home, other := t.TempDir(), t.TempDir()
		run := startProcess(t, home, "run", env, "run")
		waitFor(t, 20*time.Second, "syncd run to start its poller", func() (bool, string) {
			if run.exited() {
				t.Fatalf("syncd run exited (%v):\n%s", run.state, tail(run.logPath, 30))
			}
			return strings.Contains(run.log(), `msg="poller started"`), "no \"poller started\" line yet"
		})
		for _, args := range [][]string{{"inject", "hello"}, {"status"}, {"agent", "list"}, {"schema", "status"}} {
			res := runCLI(t, other, 20*time.Second, env, args...)
			want := filepath.Join(other, "syncd.db")
			if res.code == 0 || !strings.Contains(res.stderr, "no SQLite database at "+want) {
				t.Errorf("syncd %s in a folder without syncd.db: exit %d, want a refusal naming %s\nstdout: %s\nstderr: %s",
					strings.Join(args, " "), res.code, want, res.stdout, res.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(other, "syncd.db")); err == nil {
			t.Error("a command run in another folder created a fresh syncd.db there")
		}
		// Where syncd runs, inject names the database it wrote to.
		res := runCLI(t, home, 20*time.Second, env, "inject", "--wait", "10s", "hello")
		if res.code != 0 || !strings.Contains(res.stdout, "into SQLite "+filepath.Join(home, "syncd.db")) || !strings.Contains(res.stdout, "sent") {
			t.Errorf("syncd inject where syncd runs: exit %d, want it to name %s and report sent\nstdout: %s\nstderr: %s",
				res.code, filepath.Join(home, "syncd.db"), res.stdout, res.stderr)
		}
		// An empty text is refused rather than replaced by a made-up one.
		for _, args := range [][]string{{"inject", ""}, {"inject", "  "}, {"inject"}} {
			res := runCLI(t, home, 20*time.Second, env, args...)
			if res.code == 0 || !strings.Contains(res.stderr, "give the message text") {
				t.Errorf("syncd %q: exit %d, want a refusal\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
			}
		}
		st := runCLI(t, home, 20*time.Second, env, "status", "--json")
		if !strings.Contains(st.stdout, `"sent": 1`) || !strings.Contains(st.stdout, `"pending": 0`) {
			t.Errorf("after one inject and three refused ones, status is\n%s%s", st.stdout, st.stderr)
		}
	})

	t.Run("typos in the configuration", func(t *testing.T) {
		dir := t.TempDir()
		run := startProcess(t, dir, "typo", append(env, "SYNCD_POLLER_WORKER=4"), "run")
		waitFor(t, 20*time.Second, "syncd run to warn about SYNCD_POLLER_WORKER", func() (bool, string) {
			if run.exited() {
				t.Fatalf("syncd run exited (%v):\n%s", run.state, tail(run.logPath, 30))
			}
			log := run.log()
			return strings.Contains(log, "variable=SYNCD_POLLER_WORKER") && strings.Contains(log, "did_you_mean=SYNCD_POLLER_WORKERS"),
				tail(run.logPath, 5)
		})
		res := runCLI(t, dir, 20*time.Second, append(env, "SYNCD_POLLER_WORKER=4"), "status")
		if !strings.Contains(res.stderr, "SYNCD_POLLER_WORKER is not a syncd setting") || !strings.Contains(res.stderr, "did you mean SYNCD_POLLER_WORKERS?") {
			t.Errorf("syncd status with SYNCD_POLLER_WORKER=4: stderr\n%s", res.stderr)
		}
		path := filepath.Join(dir, "syncd.yaml")
		if err := os.WriteFile(path, []byte("poller:\n  worker: 4\n  lease: 8\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		res = runCLI(t, dir, 20*time.Second, env, "--config", path, "run")
		checkRefused(t, res, "poller.worker", "did you mean poller.workers?", "poller.lease", "write 8s")
		if strings.Contains(res.stderr, "cannot unmarshal") {
			t.Errorf("the error still speaks yaml:\n%s", res.stderr)
		}
	})
}

// TestVersionNamesTheCommit builds syncd from a clean clone, as a user
// would, and checks that `syncd version` says which commit it is.
func TestVersionNamesTheCommit(t *testing.T) {
	root, err := syncdbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %s (the tests run from a git checkout): %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	// A fixed path (the e2e runs are serialised by their lock): the build
	// cache keys packages by their folder, so a second run of the same
	// commit builds nothing again.
	clone := filepath.Join(os.TempDir(), "syncd-e2e-version-clone")
	if err := os.RemoveAll(clone); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(clone) })
	git(root, "clone", "--quiet", "--no-hardlinks", root, clone)
	head := git(clone, "rev-parse", "HEAD")
	bin := filepath.Join(t.TempDir(), "syncd")
	build := exec.CommandContext(ctx, "go", "build", "-buildvcs=true", "-o", bin, "./cmd/syncd")
	build.Dir = clone
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in the clone: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("syncd version: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if strings.Contains(lines[0], " dev") || !strings.HasPrefix(lines[0], "syncd v") || !strings.Contains(lines[0], head[:12]) {
		t.Errorf("syncd version first line %q, want the module version with commit %s", lines[0], head[:12])
	}
	if !strings.Contains(string(out), "commit "+head) {
		t.Errorf("syncd version does not name commit %s:\n%s", head, out)
	}
}
