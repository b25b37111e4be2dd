package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// StartMariaDB starts a MariaDB server of the test's own, for a test that
// needs a global setting the shared server must not get (a global
// time_zone that is not UTC: StartMariaDB(t, "--default-time-zone=+08:00")),
// or a server it may stop. It gets a fresh data directory
// (mariadb-install-db) and a free port on 127.0.0.1; args go to mariadbd.
// The server is stopped and its directory removed when the test ends. The
// DSN returned names no database; pass it to NewMySQLOn or
// NewMySQLDatabaseOn. Without the server binaries the test fails in CI
// (which installs them with MariaDB) and is skipped elsewhere.
func StartMariaDB(t testing.TB, args ...string) string {
	t.Helper()
	install := lookTool(t, "mariadb-install-db", "mysql_install_db")
	server := lookTool(t, "mariadbd", "mysqld")
	dir, err := os.MkdirTemp("", "syncd-mariadb-") // short: the socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	user := []string{}
	if os.Geteuid() == 0 {
		user = []string{"--user=root"} // mariadbd refuses to run as root otherwise
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, install, append([]string{"--no-defaults", "--datadir=" + data,
		"--auth-root-authentication-method=normal", "--skip-test-db"}, user...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before mariadbd binds it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		logFile := filepath.Join(dir, "error.log")
		os.Remove(logFile)
		cmd := exec.Command(server, append(append([]string{"--no-defaults", "--datadir=" + data,
			"--bind-address=127.0.0.1", "--port=" + strconv.Itoa(port),
			"--socket=" + filepath.Join(dir, "s.sock"), "--pid-file=" + filepath.Join(dir, "s.pid"),
			"--log-error=" + logFile, "--innodb-buffer-pool-size=32M"}, user...), args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", server, err)
		}
		exited := make(chan struct{}) // closed when the process has exited
		go func() { cmd.Wait(); close(exited) }()
		dsn := (&mysql.Config{User: "root", Net: "tcp", Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			ParseTime: true, AllowNativePasswords: true}).FormatDSN()
		if lastErr = waitServer(dsn, exited, 60*time.Second); lastErr == nil {
			t.Cleanup(func() { stopServer(t, cmd, exited) })
			return dsn
		}
		stopServer(t, cmd, exited)
		log, _ := os.ReadFile(logFile)
		lastErr = fmt.Errorf("%w\n%s", lastErr, tailBytes(log, 2000))
	}
	t.Fatalf("start MariaDB: %v", lastErr)
	return ""
}

func lookTool(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
			if p := filepath.Join(d, n); isExecutable(p) {
				return p
			}
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no %s found; CI installs MariaDB's server package", names[0])
	}
	t.Skipf("no %s found (CI installs MariaDB's server package and runs this test)", names[0])
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitServer polls until the server answers, it exits, or the time is up.
func waitServer(dsn string, exited <-chan struct{}, timeout time.Duration) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("mariadbd exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mariadbd did not answer within %s: %w", timeout, err)
		}
	}
}

// stopServer shuts the server down cleanly (SIGTERM), or kills it after
// 30 s.
func stopServer(t testing.TB, cmd *exec.Cmd, exited <-chan struct{}) {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Logf("stop mariadbd: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

func tailBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
