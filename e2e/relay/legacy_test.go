package relay

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// Legacy databases are not set up like tests: writers at other time zones,
// transactions held open, sql_mode=''. These tests write as such an
// application does, with the mysql client where it would use one.

// mysqlClient runs script through the mysql command-line client on the
// database of dsn, as a legacy application's batch job or a DBA would. It
// returns the client's output and whether it exited 0.
func mysqlClient(t *testing.T, dsn, script string) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("mysql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no mysql client on PATH; .ci/run installs it")
		}
		t.Skip("no mysql client on PATH (CI installs it and runs this test)")
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(cfg.Addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--protocol=TCP", "-h", host, "-P", port, "-u", cfg.User,
		"--default-character-set=utf8mb4", cfg.DBName)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+cfg.Passwd)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

var oldestRe = regexp.MustCompile(`oldest pending: (\S+) ago`)

// statusAge runs `syncd status` and `syncd status --json` and returns the
// oldest pending row's age as each prints it.
func statusAge(t *testing.T, b *bundle, env []string) (text, js time.Duration) {
	t.Helper()
	res := b.runCLI(30*time.Second, env, "status")
	m := oldestRe.FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil {
		t.Fatalf("syncd status: exit %d, no \"oldest pending: … ago\"\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	text, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("syncd status printed the age %q: %v", m[1], err)
	}
	res = b.runCLI(30*time.Second, env, "status", "--json")
	var st struct {
		Age float64 `json:"oldest_pending_age_seconds"`
	}
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &st) != nil {
		t.Fatalf("syncd status --json: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	return text, time.Duration(st.Age * float64(time.Second))
}

func checkAge(t *testing.T, what string, text, js time.Duration) {
	t.Helper()
	for _, age := range []time.Duration{text, js} {
		if age <= 0 || age > time.Minute {
			t.Errorf("%s: syncd status says the oldest pending row is %v old (--json: %v), want a positive age under a minute", what, text, js)
			return
		}
	}
}

// TestLegacyWriterZones: rows inserted with the mysql client from sessions
// at +08:00 (the column default) and -05:00 (NOW(6)), and from a server
// whose global time_zone is +08:00, have positive ages in `syncd status`,
// and the relay's latency metric is positive.
func TestLegacyWriterZones(t *testing.T) {
	b := setup(t)
	out, ok := mysqlClient(t, b.dsn, `SET time_zone = '+08:00';
INSERT INTO message_sync (conversation_key, body) VALUES ('erp-cn', 'from a session at +08:00');
SET time_zone = '-05:00';
INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('erp-us', 'from a session at -05:00', NOW(6));
`)
	if !ok {
		t.Fatalf("mysql client: %s", out)
	}
	text, js := statusAge(t, b, b.env())
	checkAge(t, "writer sessions at +08:00 and -05:00", text, js)

	in := b.start("zones", b.env())
	b.waitFor(30*time.Second, "both rows sent", func() (bool, string) {
		c := b.counts()
		return c.sent == 2, c.String()
	})
	sum, err1 := in.metric("syncd_relay_latency_seconds_sum")
	n, err2 := in.metric("syncd_relay_latency_seconds_count")
	if err1 != nil || err2 != nil || n != 2 || sum <= 0 || sum > 120 {
		t.Errorf("syncd_relay_latency_seconds: sum %v (%v), count %v (%v); want 2 positive latencies under a minute", sum, err1, n, err2)
	}
	b.stopAll(20 * time.Second)

	// A server whose global time_zone is +08:00: the writer's session
	// inherits it; syncd's run at UTC.
	dsn := testdb.NewMySQLDatabaseOn(t, testdb.StartMariaDB(t, "--default-time-zone=+08:00"))
	env := b.env("SYNCD_DATABASE_DSN=" + dsn)
	if res := b.runCLI(30*time.Second, env, "schema", "apply"); res.code != 0 {
		t.Fatalf("syncd schema apply on the +08:00 server: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if out, ok := mysqlClient(t, dsn, `INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('erp-cn', 'server at +08:00', NOW());`); !ok {
		t.Fatalf("mysql client: %s", out)
	}
	text, js = statusAge(t, b, env)
	checkAge(t, "a server whose global time_zone is +08:00", text, js)
}

// TestCommitOrder: rows of a conversation reach history in commit order,
// the rows of one transaction in id order. Two rows inserted in a
// transaction held open until syncd has relayed a later autocommitted row
// of the same conversation come after it; the conversation's time stays at
// that newest message.
func TestCommitOrder(t *testing.T) {
	for _, d := range relayDialects {
		t.Run(d, func(t *testing.T) { commitOrder(t, setupOn(t, d)) })
	}
}

func commitOrder(t *testing.T, b *bundle) {
	b.start("order", b.env())
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	tdb := &testdb.DB{Driver: b.driver, Raw: b.db}
	held := tdb.InsertIn(t, tx, "order-7", "held 1", "held 2")
	auto := tdb.Insert(t, "order-7", "autocommitted")
	b.waitFor(30*time.Second, "the autocommitted row sent while the transaction is open", func() (bool, string) {
		n := b.count(`SELECT COUNT(*) FROM message_sync WHERE id = ? AND status = 'sent'`, auto)
		return n == 1, "not sent yet"
	})
	var before, after time.Time
	if err := b.db.QueryRow(`SELECT last_message_at FROM conversations WHERE conversation_key = 'order-7'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(30*time.Second, 3)

	got := testdb.HistorySources(t, b.db, "order-7")
	if len(got) != 3 || got[0] != auto || got[1] != held[0] || got[2] != held[1] {
		t.Errorf("history of order-7 by seq: rows %v; want %d (committed first), then %v in id order", got, auto, held)
	}
	if err := b.db.QueryRow(`SELECT last_message_at FROM conversations WHERE conversation_key = 'order-7'`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if !after.Equal(before) {
		t.Errorf("last_message_at went from %s to %s: the late rows were inserted before the autocommitted one", before, after)
	}
}

// TestMangledRows: strict mode refuses invalid UTF-8 at INSERT; in a
// session whose sql_mode is empty MariaDB stores '?' instead, and syncd
// relays that row as the database holds it, and keeps running and
// relaying.
func TestMangledRows(t *testing.T) {
	b := setup(t)
	b.start("mangled", b.env())
	out, ok := mysqlClient(t, b.dsn, "SET SESSION sql_mode = 'STRICT_TRANS_TABLES';\nINSERT INTO message_sync (conversation_key, body) VALUES ('strict', 'caf\xe9 au lait');\n")
	if ok || !strings.Contains(out, "1366") {
		t.Errorf("strict mode: the mysql client exited %v, want error 1366:\n%s", ok, out)
	}
	if out, ok := mysqlClient(t, b.dsn, "SET SESSION sql_mode = '';\nINSERT INTO message_sync (conversation_key, body) VALUES ('lax', 'caf\xe9 au lait');\nSHOW WARNINGS;\n"); !ok || !strings.Contains(out, "1366") {
		t.Fatalf("sql_mode='': the mysql client exited %v, want a 1366 warning:\n%s", ok, out)
	}
	b.waitSettled(30*time.Second, 1)
	if _, err := b.db.Exec(`INSERT INTO message_sync (conversation_key, body) VALUES ('lax', 'and after it')`); err != nil {
		t.Fatal(err)
	}
	b.waitSettled(30*time.Second, 2)
	var stored, relayed string
	err := b.db.QueryRow(`SELECT m.body, c.body FROM message_sync m JOIN chat_messages c ON c.source_table = 'message_sync' AND c.source_id = m.id
WHERE m.conversation_key = 'lax' ORDER BY m.id LIMIT 1`).Scan(&stored, &relayed)
	if err != nil {
		t.Fatal(err)
	}
	if stored != "caf? au lait" || relayed != stored {
		t.Errorf("the database holds %q and history %q; want both \"caf? au lait\"", stored, relayed)
	}
	if c := b.counts(); c.sent != 2 {
		t.Errorf("rows: %v, want both sent", c)
	}
	b.stopAll(20 * time.Second)
}
