package poller

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// spell turns a key into another spelling that some collation calls the
// same: the rows of both go into one batch.
var spell = []func(string) string{
	strings.ToUpper,
	strings.ToLower,
	func(k string) string { return k + " " },
	func(k string) string { return " " + k },
	func(k string) string { return strings.ReplaceAll(k, "e", "é") },
	func(k string) string { return strings.ReplaceAll(k, "é", "e\u0301") }, // decomposed
	func(k string) string { return k + "\x00" },
	func(k string) string { return k },
}

// FuzzRelay relays rows with arbitrary keys and bodies through the real
// conversion and commit (Poller.relay, the bridge, a SQLite store), two
// spellings of a key in one batch, and checks what the contract promises:
// nothing panics, every row ends sent or failed (with a reason) and no
// attempt is counted, a sent row is in history exactly once under its key
// byte for byte with its body, and each conversation's seq runs 1..n.
// The seed corpus in testdata/fuzz/FuzzRelay runs with every go test;
// go test -fuzz FuzzRelay ./poller/ explores further.
func FuzzRelay(f *testing.F) {
	for _, seed := range []struct {
		key, body string
		spelling  byte
	}{
		{"Order-1001", "hello", 0},
		{"café-1003", "accent", 4},
		{"order-1002", "trailing space", 2},
		{"\xff\xfe", "invalid UTF-8 key", 7},
		{"k", "invalid \xc3 body", 7},
		{"conv\t1", "control character", 1},
		{strings.Repeat("ü", 300), "very long key", 0},
		{"k", "", 7},
		{".", "dot", 7},
	} {
		f.Add(seed.key, seed.body, seed.spelling)
	}
	db := testdb.New(f, "sqlite")
	m := NewMetrics(prometheus.NewRegistry())
	p, err := New(Options{Store: db.Store, Locker: lock.NewLocal(), Converter: bridge.New(bridge.Options{MaxBodyBytes: 4096}),
		Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, key, body string, spelling byte) {
		other := spell[int(spelling)%len(spell)](key)
		var ids []int64
		for _, r := range [][2]string{{key, body}, {other, body + " (2)"}, {key, body + " (3)"}} {
			res, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body) VALUES (?, ?)`, r[0], r[1])
			if err != nil {
				t.Fatalf("insert: %v", err)
			}
			id, _ := res.LastInsertId()
			ids = append(ids, id)
		}
		c, err := db.Store.Claim(ctx, store.Shard{Index: 0, Count: 1}, "fuzz", 10, time.Minute)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		if len(c.Rows) != len(ids) {
			t.Fatalf("claimed %d rows, want %d", len(c.Rows), len(ids))
		}
		_ = p.relay(ctx, p.log, c)
		for _, stage := range []string{"batch", "recover", "row", "publish"} {
			if n := testutil.ToFloat64(m.Panics.WithLabelValues(stage)); n != 0 {
				t.Fatalf("the relay panicked (%s)", stage)
			}
		}
		for _, id := range ids {
			var k, b, status, lastErr string
			var attempts int
			if err := db.Raw.QueryRow(`SELECT conversation_key, body, status, attempts, COALESCE(last_error, '') FROM message_sync WHERE id = ?`, id).
				Scan(&k, &b, &status, &attempts, &lastErr); err != nil {
				t.Fatal(err)
			}
			if attempts != 0 {
				t.Errorf("row %d (%q): %d attempts counted", id, k, attempts)
			}
			switch status {
			case "failed":
				if lastErr == "" {
					t.Errorf("row %d (%q) failed without a reason", id, k)
				}
				continue
			case "sent":
			default:
				t.Fatalf("row %d (%q) left %s", id, k, status)
			}
			if !validKey(k) || !utf8.ValidString(b) || strings.TrimSpace(b) == "" {
				t.Errorf("row %d with key %q and body %q was relayed", id, k, b)
			}
			var n int
			var hk, hb string
			if err := db.Raw.QueryRow(`SELECT COUNT(*), MAX(conversation_key), MAX(body) FROM chat_messages WHERE source_table = 'message_sync' AND source_id = ?`, id).
				Scan(&n, &hk, &hb); err != nil {
				t.Fatal(err)
			}
			if n != 1 || hk != k || hb != b {
				t.Errorf("row %d (%q, %q) is %d times in history, as (%q, %q)", id, k, b, n, hk, hb)
			}
		}
		for _, k := range []string{key, other} {
			n := seqs(t, db, k)
			var last int64
			err = db.Raw.QueryRow(`SELECT last_seq FROM conversations WHERE conversation_key = ?`, k).Scan(&last)
			if n > 0 && (err != nil || last != n) {
				t.Errorf("conversation %q: last_seq %d (%v), %d messages", k, last, err, n)
			}
		}
	})
}

// seqs checks that the history of key runs 1..n and returns n.
func seqs(t *testing.T, db *testdb.DB, key string) int64 {
	t.Helper()
	rows, err := db.Raw.Query(`SELECT conversation_key, seq FROM chat_messages WHERE conversation_key = ? ORDER BY seq`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close() // the SQLite pool has one connection
	var n int64
	for rows.Next() {
		var got string
		var seq int64
		if err := rows.Scan(&got, &seq); err != nil {
			t.Fatal(err)
		}
		if got != key {
			continue // another spelling the database found: not this conversation
		}
		if n++; seq != n {
			t.Errorf("conversation %q: seq %d where %d was due", key, seq, n)
		}
	}
	return n
}

// validKey is the contract's key rule, written apart from the bridge's.
func validKey(k string) bool {
	return strings.TrimSpace(k) != "" && utf8.ValidString(k) && utf8.RuneCountInString(k) <= store.MaxKeyChars &&
		k != "." && k != ".." && !strings.ContainsFunc(k, unicode.IsControl)
}
