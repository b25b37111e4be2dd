package schema_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/testdb"
	schema "github.com/syncd-dev/syncd/sql"
)

// applyUpTo runs the migrations before version on conn, statement by
// statement, as a DBA would.
func applyUpTo(t *testing.T, ctx context.Context, exec func(context.Context, string) error, dialect string, from, to int) {
	t.Helper()
	ms, err := schema.Migrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version < from || m.Version > to {
			continue
		}
		for i, stmt := range schema.Statements(m.SQL) {
			if err := exec(ctx, stmt); err != nil {
				t.Fatalf("%s statement %d: %v", m.Name, i+1, err)
			}
		}
	}
}

// Migration 0005 turns the contract tables' times into TIMESTAMP. A DBA
// who runs it from a session at another zone (a server whose global
// time_zone is +08:00) keeps the instants syncd wrote in UTC: the file
// sets its session to UTC before the ALTERs.
func TestTimeZonesMigrationKeepsInstants(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := mysql.ParseDSN(testdb.NewMySQLDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params = map[string]string{"time_zone": "'+08:00'"} // the DBA's session
	dba := testdb.OpenMySQL(t, cfg)
	conn, err := dba.Conn(ctx) // one session, as `mysql DB < file` is
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(ctx context.Context, q string) error { _, err := conn.ExecContext(ctx, q); return err }
	applyUpTo(t, ctx, exec, schema.MySQL, 1, 4)
	at := time.Date(2026, 5, 1, 2, 3, 4, 567891000, time.UTC)
	// What syncd wrote before: UTC readings in DATETIME.
	lit := at.Format("2006-01-02 15:04:05.000000")
	if err := exec(ctx, `INSERT INTO message_sync (conversation_key, body, created_at, processed_at, status) VALUES ('k', 'b', '`+lit+`', '`+lit+`', 'sent')`); err != nil {
		t.Fatal(err)
	}
	if err := exec(ctx, `INSERT INTO message_reply (conversation_key, body, author_type, author_name, created_at) VALUES ('k', 'r', 'bot', 'bot', '`+lit+`')`); err != nil {
		t.Fatal(err)
	}
	applyUpTo(t, ctx, exec, schema.MySQL, 5, 5)

	utc := *cfg
	utc.Params = map[string]string{"time_zone": "'+00:00'"}
	syncd := testdb.OpenMySQL(t, &utc)
	var created, processed, reply dbtime.Time
	if err := syncd.QueryRowContext(ctx, `SELECT m.created_at, m.processed_at, r.created_at FROM message_sync m, message_reply r`).
		Scan(&created, &processed, &reply); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]time.Time{"message_sync.created_at": created.Time, "processed_at": processed.Time, "message_reply.created_at": reply.Time} {
		if !got.Equal(at) {
			t.Errorf("%s = %v after the migration, want %v", name, got, at)
		}
	}
	var types []string
	rows, err := syncd.QueryContext(ctx, `SELECT CONCAT(table_name, '.', column_name, ' ', column_type) FROM information_schema.columns
WHERE table_schema = DATABASE() AND table_name IN ('message_sync', 'message_reply') AND data_type IN ('datetime', 'timestamp')
ORDER BY table_name, column_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		types = append(types, s)
	}
	want := []string{
		"message_reply.created_at timestamp(6)", "message_reply.done_at timestamp(6)",
		"message_sync.created_at timestamp(6)", "message_sync.lease_until timestamp(6)",
		"message_sync.next_attempt_at timestamp(6)", "message_sync.processed_at timestamp(6)",
	}
	if len(types) != len(want) {
		t.Fatalf("time columns %q, want %q", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Errorf("time column %q, want %q", types[i], want[i])
		}
	}
}

// On SQLite, 0005 rewrites created_at values written before it with an
// offset to the UTC text of their instant.
func TestTimeZonesMigrationSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := emptyStore(t, ctx, schema.SQLite)
	exec := func(ctx context.Context, q string) error { _, err := st.SQL().ExecContext(ctx, q); return err }
	applyUpTo(t, ctx, exec, schema.SQLite, 1, 4)
	if err := exec(ctx, `INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('k', 'b', '2026-05-01 10:03:04.567+08:00')`); err != nil {
		t.Fatal(err)
	}
	applyUpTo(t, ctx, exec, schema.SQLite, 5, 5)
	var got string
	if err := st.SQL().QueryRowContext(ctx, `SELECT CAST(created_at AS TEXT) FROM message_sync`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "2026-05-01 02:03:04.567"; got != want {
		t.Errorf("created_at %q after the migration, want %q", got, want)
	}
}
