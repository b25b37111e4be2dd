package relay

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/internal/syncdbin"
)

// readmeSetUp returns the shell commands of the README's "Set up" section,
// in order.
func readmeSetUp(t *testing.T, root string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Set up\n")
	if !ok {
		t.Fatal("README.md has no \"## Set up\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var cmds []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		cmds = append(cmds, strings.TrimSpace(m[1]))
	}
	return cmds
}

// TestReadmeRunCommand is a new machine: no ONNX Runtime in the cache, no
// SYNCD_* variable. The README's run command, as written, must start syncd
// with the intent bot on, and a customer message must get the bot's
// answer.
func TestReadmeRunCommand(t *testing.T) {
	root, err := syncdbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeSetUp(t, root)
	if len(cmds) != 2 || cmds[1] != "make test" {
		t.Fatalf("README's Set up has the commands %q; want exactly two, the run command and `make test`", cmds)
	}
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "syncd.db")
	env := append(cleanEnv(),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), // nothing fetched yet
		// Go's build cache lives under XDG_CACHE_HOME too: keep the
		// machine's, or `go run` compiles the standard library again.
		"GOCACHE="+strings.TrimSpace(string(gocache)),
		// Not the user's ./syncd.db in the repository, nor port 8080.
		"SYNCD_DATABASE_DSN="+db, "SYNCD_HTTP_ADDR=127.0.0.1:0")
	in := startShell(t, root, "readme-run", env, cmds[0])
	waitFor(t, 5*time.Minute, "the README's run command to start syncd with the bot on", func() (bool, string) {
		if in.exited() {
			t.Fatalf("%q exited (%v):\n%s", cmds[0], in.state, tail(in.logPath, 30))
		}
		log := in.log()
		return strings.Contains(log, `msg="intent bot on"`) && strings.Contains(log, `msg="poller started"`), tail(in.logPath, 3)
	})
	if log := in.log(); strings.Contains(log, "intent bot off") {
		t.Errorf("the bot was off first:\n%s", tail(in.logPath, 20))
	}
	res := runCLI(t, dir, 30*time.Second, append(cleanEnv(), "SYNCD_DATABASE_DSN="+db), "inject", "--wait", "10s", "where is my order?")
	if res.code != 0 || !strings.Contains(res.stdout, "sent") {
		t.Fatalf("syncd inject: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if n, err := in.metric(`syncd_bot_replies_total{kind="message"}`); err != nil || n != 1 {
		t.Errorf("bot replies = %v (%v), want 1: the bot answers \"where is my order?\" by itself", n, err)
	}
}

// TestBotTurnsOnWhenTheLibraryAppears starts syncd without ONNX Runtime,
// then puts the library in the cache the way a user would (a plain copy,
// slow enough to be seen half-written): the bot must turn on by itself,
// with a log line, without a crash or a restart, and answer.
func TestBotTurnsOnWhenTheLibraryAppears(t *testing.T) {
	src, err := onnxrt.LibraryPath("")
	if err != nil {
		t.Fatalf("%v: the test copies the library fetched by scripts/onnxruntime.sh (make test does that)", err)
	}
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	env := append(cleanEnv(), "XDG_CACHE_HOME="+cache, "SYNCD_HTTP_ADDR=127.0.0.1:0")
	in := startProcess(t, dir, "late-bot", env, "run")
	waitFor(t, 20*time.Second, "syncd to say the bot is off and why", func() (bool, string) {
		if in.exited() {
			t.Fatalf("syncd run exited (%v):\n%s", in.state, tail(in.logPath, 30))
		}
		return strings.Contains(in.log(), "intent bot off until ONNX Runtime is there"), tail(in.logPath, 3)
	})

	// SIGHUP while the library is still missing: syncd looked, and says so.
	if err := in.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "SIGHUP to report the bot still off", func() (bool, string) {
		return strings.Contains(in.log(), "intent bot still off"), tail(in.logPath, 3)
	})

	dest := filepath.Join(cache, "syncd", "onnxruntime-"+onnxrt.Version, "libonnxruntime.so.1")
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		t.Fatal(err)
	}
	copySlowly(t, src, dest)
	waitFor(t, 20*time.Second, "the bot to turn on", func() (bool, string) {
		if in.exited() {
			t.Fatalf("syncd run exited (%v) when the library appeared:\n%s", in.state, tail(in.logPath, 30))
		}
		return strings.Contains(in.log(), `msg="intent bot on"`), tail(in.logPath, 3)
	})
	res := runCLI(t, dir, 30*time.Second, cleanEnv(), "inject", "--wait", "10s", "where is my order?")
	if res.code != 0 || !strings.Contains(res.stdout, "sent") {
		t.Fatalf("syncd inject: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	if n, err := in.metric(`syncd_bot_replies_total{kind="message"}`); err != nil || n != 1 {
		t.Errorf("bot replies = %v (%v), want 1", n, err)
	}
}

// copySlowly copies src to dest as cp does (in place, no rename), pausing
// halfway for longer than syncd's poll interval so that syncd sees, and
// must refuse, a half-written library.
func copySlowly(t *testing.T, src, dest string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dest)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.CopyN(out, in, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	// Not a wait for a condition: this is the slow writer under test, seen
	// unchanged by at least two polls (2s apart).
	time.Sleep(5 * time.Second)
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// startShell runs a shell command line in dir, in its own process group
// (make, go run and syncd under it), output into dir/logName.log, like
// startProcess; at cleanup the whole group gets SIGTERM.
func startShell(t *testing.T, dir, logName string, env []string, command string) *instance {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), logName+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", command)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %q: %v", command, err)
	}
	in := &instance{t: t, name: logName, logPath: logPath, cmd: cmd, done: make(chan struct{}), expected: true}
	go func() {
		_ = cmd.Wait()
		f.Close()
		in.state = cmd.ProcessState
		close(in.done)
	}()
	t.Cleanup(func() {
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		select {
		case <-in.done:
		case <-ctx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-in.done
		}
		if t.Failed() {
			t.Logf("---- last lines of %s ----\n%s", logName, tail(logPath, 40))
		}
	})
	return in
}
