package relay

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/syncdbin"
	"github.com/syncd-dev/syncd/internal/testdb"
)

// readmeSchemaPipe is the DBA's first command as the README writes it.
const readmeSchemaPipe = "syncd schema print --dialect mysql | mysql DB"

// TestDBAFirstCommands runs the README's `syncd schema print … | mysql DB`
// through a shell, as a DBA would, on a machine with no syncd
// configuration; then the status → apply → status round with a migration
// that was applied from another file, following what each error says.
func TestDBAFirstCommands(t *testing.T) {
	root, err := syncdbin.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), readmeSchemaPipe) {
		t.Fatalf("README.md no longer says %q; keep this test in step with it", readmeSchemaPipe)
	}
	bin, err := exec.LookPath("mysql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no mysql client on PATH; .ci/run installs it")
		}
		t.Skip("no mysql client on PATH (CI installs it and runs this test)")
	}
	dsn := testdb.NewMySQLDatabase(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(cfg.Addr, ":")
	// The README's `mysql DB`, with this server's address: a shell
	// function, so that the pipeline itself is the README's.
	shellMySQL := "mysql() { " + bin + " --protocol=TCP -h " + host + " -P " + port + " -u " + cfg.User + ` "$@"; }; `
	dir := t.TempDir()
	env := append(cleanEnv(), "PATH="+filepath.Dir(syncdBin)+":"+os.Getenv("PATH"), "MYSQL_PWD="+cfg.Passwd)
	pipe := func(command string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", shellMySQL+command)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables := func() int {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Without --dialect and without a configuration there is no right
	// dialect: syncd asks, and nothing reaches mysql.
	out, err := pipe("syncd schema print | mysql " + cfg.DBName)
	if err == nil || !strings.Contains(out, "--dialect mysql") {
		t.Errorf("syncd schema print with no dialect piped into mysql: %v, want a refusal naming --dialect\n%s", err, out)
	}
	if n := tables(); n != 0 {
		t.Fatalf("%d tables after the refused print, want none", n)
	}

	out, err = pipe(strings.Replace(readmeSchemaPipe, "DB", cfg.DBName, 1))
	if err != nil {
		t.Fatalf("%s: %v\n%s", readmeSchemaPipe, err, out)
	}
	syncdEnv := append(cleanEnv(), "SYNCD_DATABASE_DRIVER=mysql", "SYNCD_DATABASE_DSN="+dsn)
	st := runCLI(t, dir, 30*time.Second, syncdEnv, "schema", "status")
	if st.code != 0 || strings.Contains(st.stdout, "missing") {
		t.Fatalf("syncd schema status after the README's pipe: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	// The configured driver picks the dialect, and printing needs no DSN.
	pr := runCLI(t, dir, 30*time.Second, append(cleanEnv(), "SYNCD_DATABASE_DRIVER=mysql"), "schema", "print")
	if pr.code != 0 || !strings.HasPrefix(pr.stdout, "-- syncd schema (mysql)") {
		t.Errorf("SYNCD_DATABASE_DRIVER=mysql syncd schema print: exit %d\n%.200s%s", pr.code, pr.stdout, pr.stderr)
	}

	// A migration recorded from another version of its file: status says
	// so and what to run, apply refuses with the same way out, and once
	// the DBA has run it everything is up to date.
	mustExec(t, db, `UPDATE syncd_schema_migrations SET checksum = REPEAT('0', 64) WHERE version = 2`)
	update := regexp.MustCompile(`UPDATE syncd_schema_migrations SET checksum = '[0-9a-f]{64}' WHERE version = 2;`)
	for _, args := range [][]string{{"schema", "status"}, {"schema", "apply"}} {
		res := runCLI(t, dir, 30*time.Second, syncdEnv, args...)
		if res.code == 0 || !update.MatchString(res.stderr) || strings.Contains(res.stderr, "run `syncd schema apply`") {
			t.Errorf("syncd %s with a modified migration: exit %d, want the UPDATE that records it and no advice to apply\n%s%s",
				strings.Join(args, " "), res.code, res.stdout, res.stderr)
		}
	}
	res := runCLI(t, dir, 30*time.Second, syncdEnv, "schema", "status")
	if out, err := pipe("echo \"" + update.FindString(res.stderr) + "\" | mysql " + cfg.DBName); err != nil {
		t.Fatalf("run the statement syncd gave: %v\n%s", err, out)
	}
	if res := runCLI(t, dir, 30*time.Second, syncdEnv, "schema", "status"); res.code != 0 {
		t.Errorf("syncd schema status after following its advice: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
