package poller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
)

type keyRow struct {
	key, body string
	status    string // what the row must end as
	reason    string // what last_error must contain when failed
}

// relayKeys inserts rows (into conversations that the first batch may
// create, then the rest as one backlog), relays them with a poller, and
// checks each row's end state: no panic, no attempt counted, and only the
// rows of keys the database compares otherwise than byte for byte fail.
func relayKeys(t *testing.T, db *testdb.DB, first, rest []keyRow) {
	t.Helper()
	b := &bundle{db: db}
	ids := map[int64]keyRow{}
	for _, r := range first {
		ids[db.Insert(t, r.key, r.body)] = r
	}
	p := newPoller(t, b, db.Store, lock.NewLocal(), bridge.New(bridge.Options{}), "solo")
	eventually(t, "the first rows settle", 20*time.Second, func() bool {
		return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status IN ('pending', 'processing')`) == 0
	})
	for _, r := range rest {
		ids[db.Insert(t, r.key, r.body)] = r
	}
	p.Kick()
	eventually(t, "every row settles", 20*time.Second, func() bool {
		return countWhere(t, db, `SELECT COUNT(*) FROM message_sync WHERE status IN ('pending', 'processing')`) == 0
	})
	for id, want := range ids {
		var status, lastErr string
		var attempts int
		if err := db.Raw.QueryRow(`SELECT status, attempts, COALESCE(last_error, '') FROM message_sync WHERE id = ?`, id).
			Scan(&status, &attempts, &lastErr); err != nil {
			t.Fatal(err)
		}
		if status != want.status || attempts != 0 || !strings.Contains(lastErr, want.reason) {
			t.Errorf("row %d (%q, %q): %s, %d attempts, last_error %q; want %s with %q and no attempt",
				id, want.key, want.body, status, attempts, lastErr, want.status, want.reason)
		}
		if status == "sent" {
			var key string
			if err := db.Raw.QueryRow(`SELECT conversation_key FROM chat_messages WHERE source_id = ?`, id).Scan(&key); err != nil {
				t.Fatal(err)
			}
			if key != want.key {
				t.Errorf("row %d of %q is in history under %q", id, want.key, key)
			}
		}
	}
	if n := testutil.ToFloat64(b.metrics.Panics.WithLabelValues("batch")); n != 0 {
		t.Errorf("%v batches panicked", n)
	}
	// Every conversation's seq runs 1..n over its sent rows.
	rows, err := db.Raw.Query(`SELECT c.conversation_key, c.last_seq, COUNT(m.id) FROM conversations c
LEFT JOIN chat_messages m ON m.conversation_key = c.conversation_key GROUP BY c.id, c.conversation_key, c.last_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var last, n int
		if err := rows.Scan(&key, &last, &n); err != nil {
			t.Fatal(err)
		}
		if last != n {
			t.Errorf("conversation %q: last_seq %d, %d messages", key, last, n)
		}
	}
}

func innocents(n int) []keyRow {
	var out []keyRow
	for i := range n {
		out = append(out, keyRow{key: fmt.Sprintf("innocent-%d", i%3), body: fmt.Sprintf("innocent %d", i), status: "sent"})
	}
	return out
}

// Under a legacy collation (a DBA's choice; syncd's own schema is binary),
// the rows of a key the database merges with another conversation fail
// with the reason; the batch's other rows are relayed, none is retried,
// and the poller never panics.
func TestKeysTheDatabaseMergesFailOnlyTheirRows(t *testing.T) {
	db := testdb.New(t, "mysql")
	db.SetKeyCollation(t, "utf8mb4_unicode_ci")
	const merged = "is conversation"
	first := []keyRow{
		{key: "Order-1001", body: "creates Order-1001", status: "sent"},
		{key: "order-1002", body: "creates order-1002", status: "sent"},
		{key: "cafe-1003", body: "creates cafe-1003", status: "sent"},
	}
	rest := append(innocents(6),
		keyRow{key: "order-1001", body: "case", status: "failed", reason: merged},
		keyRow{key: "Order-1001", body: "the same spelling again", status: "sent"},
		keyRow{key: "café-1003", body: "accent", status: "failed", reason: merged},
		// PAD SPACE: the trailing space is refused before the commit.
		keyRow{key: "order-1002 ", body: "trailing space", status: "failed", reason: "ends in a space"},
	)
	relayKeys(t, db, first, append(rest, innocents(6)...))
}

// MySQL 5.7 has only utf8mb4_bin, which ignores trailing spaces: a key
// that ends in one fails whichever spelling came first, and the key
// without it keeps working. Case and accents are kept apart.
func TestTrailingSpaceUnderPadSpaceCollation(t *testing.T) {
	db := testdb.New(t, "mysql")
	db.SetKeyCollation(t, "utf8mb4_bin")
	first := []keyRow{{key: "order-1002 ", body: "first, with the space", status: "failed", reason: "ends in a space"}}
	rest := append(innocents(3),
		keyRow{key: "order-1002", body: "without", status: "sent"},
		keyRow{key: "order-1002  ", body: "two spaces", status: "failed", reason: "ends in a space"},
		keyRow{key: "Order-1002", body: "case", status: "sent"},
		keyRow{key: "órder-1002", body: "accent", status: "sent"},
	)
	relayKeys(t, db, first, rest)
}

// With syncd's own schema every spelling is a conversation of its own, on
// both dialects.
func TestEverySpellingIsItsOwnConversation(t *testing.T) {
	for _, d := range testdb.AllDialects {
		t.Run(d, func(t *testing.T) {
			var rows []keyRow
			for _, k := range []string{"Order-1001", "order-1001", "order-1002", "order-1002 ", " order-1002", "cafe-1003", "café-1003", "cafe\u0301-1003"} {
				rows = append(rows, keyRow{key: k, body: "to " + k, status: "sent"})
			}
			relayKeys(t, testdb.New(t, d), rows[:2], append(rows[2:], innocents(4)...))
		})
	}
}
