package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
)

// What the database does with bytes that are not UTF-8 decides what
// reaches syncd. MariaDB in strict mode (its default) refuses the INSERT;
// with an empty sql_mode it stores '?' for each bad byte (and cuts a key
// that is too long), and syncd relays the row as the database holds it.
// SQLite stores the bytes as they are, and syncd fails the row with the
// reason.
// Session-level sql_mode only: the shared server's global mode is left as
// it is.
func TestDatabaseRefusesOrMangles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bad := "caf\xe9 au lait \xff"
	longKey := "order-" + strings.Repeat("x", 250)

	my := testdb.New(t, "mysql")
	conn, err := my.Raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET SESSION sql_mode = 'STRICT_TRANS_TABLES'`); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body) VALUES ('strict', ?)`, bad)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1366 {
		t.Errorf("strict mode: INSERT of invalid UTF-8 gave %v, want error 1366 (Incorrect string value)", err)
	}
	if _, err := conn.ExecContext(ctx, `SET SESSION sql_mode = ''`); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{{"lax", bad}, {longKey, "a key longer than the column"}} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body) VALUES (?, ?)`, r[0], r[1]); err != nil {
			t.Fatalf("sql_mode='': %v", err)
		}
	}
	relayed := relayThroughBridge(t, my)
	stored := map[int64][2]string{}
	rows, err := my.Raw.QueryContext(ctx, `SELECT id, conversation_key, body FROM message_sync`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var key, body string
		if err := rows.Scan(&id, &key, &body); err != nil {
			t.Fatal(err)
		}
		stored[id] = [2]string{key, body}
	}
	rows.Close()
	if len(stored) != 2 || len(relayed) != 2 {
		t.Fatalf("%d rows stored, %d relayed; want the two sql_mode='' rows", len(stored), len(relayed))
	}
	for id, got := range relayed {
		if got != stored[id] {
			t.Errorf("row %d relayed as %q, the database holds %q", id, got, stored[id])
		}
	}
	for _, s := range stored {
		if s[0] == "lax" && s[1] != "caf? au lait ?" {
			t.Errorf("MariaDB stored %q for the invalid bytes, want '?' for each", s[1])
		}
		if s[0] != "lax" && s[0] != longKey[:191] {
			t.Errorf("MariaDB stored the long key as %d characters, want it cut to 191", len(s[0]))
		}
	}
	for id := range stored {
		if rs := rowStatus(t, my, id); rs.Status != "sent" {
			t.Errorf("row %d is %s (%s), want sent", id, rs.Status, rs.LastError)
		}
	}

	lite := testdb.New(t, "sqlite")
	id := lite.Insert(t, "lax", bad)
	if got := relayThroughBridge(t, lite); len(got) != 0 {
		t.Errorf("SQLite: relayed %v", got)
	}
	if rs := rowStatus(t, lite, id); rs.Status != "failed" || !strings.Contains(rs.LastError, "not valid UTF-8") {
		t.Errorf("SQLite row with invalid UTF-8 is %s (%q), want failed naming UTF-8", rs.Status, rs.LastError)
	}
}

// relayThroughBridge relays every pending row with the relay's own
// conversion and returns what history got, by row id.
func relayThroughBridge(t *testing.T, db *testdb.DB) map[int64][2]string {
	t.Helper()
	ctx := context.Background()
	c := claim(t, db.Store, 100)
	msgs, err := db.Store.Commit(ctx, c, bridge.New(bridge.Options{}).Convert(ctx, c.Rows))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][2]string{}
	for _, m := range msgs {
		out[m.SourceID] = [2]string{m.ConversationKey, m.Body}
	}
	return out
}
