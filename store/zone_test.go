package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// window is the span in which a test's legacy writes happened, widened by
// a little for the database's own clock.
type window struct{ from, to time.Time }

func (w window) has(at time.Time) bool {
	return !at.Before(w.from.Add(-2*time.Second)) && !at.After(w.to.Add(2*time.Second))
}

func (w window) String() string {
	return fmt.Sprintf("[%s, %s] UTC", w.from.UTC().Format(time.TimeOnly), w.to.UTC().Format(time.TimeOnly))
}

// writerInserts are the ways a legacy writer sets created_at on MySQL:
// the column default, NOW() in its INSERT, a literal of its own local
// time, and a time.Time its driver formats in its zone.
func writerInserts(t *testing.T, writer *sql.DB, key string, zone *time.Location) []int64 {
	t.Helper()
	var ids []int64
	for i, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO message_sync (conversation_key, body) VALUES (?, 'default')`, nil},
		{`INSERT INTO message_sync (conversation_key, body, created_at) VALUES (?, 'now', NOW(6))`, nil},
		{`INSERT INTO message_sync (conversation_key, body, created_at) VALUES (?, 'literal', ?)`,
			[]any{time.Now().In(zone).Format("2006-01-02 15:04:05.000000")}},
		{`INSERT INTO message_sync (conversation_key, body, created_at) VALUES (?, 'bound', ?)`, []any{time.Now()}},
	} {
		res, err := writer.Exec(q.sql, append([]any{key}, q.args...)...)
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		id, _ := res.LastInsertId()
		ids = append(ids, id)
	}
	return ids
}

// checkRelayedTimes claims and relays every pending row and checks each
// time syncd derives from a writer's created_at: the oldest pending age,
// the claimed row, history, and the conversation's times the console sorts
// and waits by.
func checkRelayedTimes(t *testing.T, db *testdb.DB, w window, wantRows int) {
	t.Helper()
	ctx := context.Background()
	st, err := db.Store.Stats(ctx, false)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if !w.has(st.OldestPending) {
		t.Errorf("oldest pending row created at %v, outside the writes %v", st.OldestPending, w)
	}
	if age := st.OldestPendingAge; age < 0 || age > time.Since(w.from)+2*time.Second {
		t.Errorf("oldest pending age %v, want between 0 and %v", age, time.Since(w.from))
	}
	c := claim(t, db.Store, 100)
	if len(c.Rows) != wantRows {
		t.Fatalf("claimed %d rows, want %d", len(c.Rows), wantRows)
	}
	for _, r := range c.Rows {
		if !w.has(r.CreatedAt) {
			t.Errorf("row %d (%s) created at %v, outside the writes %v", r.ID, r.Body, r.CreatedAt, w)
		}
	}
	msgs, err := db.Store.Commit(ctx, c, relayAll(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if !w.has(m.CreatedAt) {
			t.Errorf("history message %s/%d created at %v, outside the writes %v", m.ConversationKey, m.Seq, m.CreatedAt, w)
		}
	}
	rows, err := db.Store.SQL().QueryContext(ctx, `SELECT conversation_key, last_message_at, waiting_since FROM conversations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var last, waiting dbtime.Time
		if err := rows.Scan(&key, &last, &waiting); err != nil {
			t.Fatal(err)
		}
		if !w.has(last.Time) || !w.has(waiting.Time) {
			t.Errorf("conversation %s: last message at %v, waiting since %v; want both in %v", key, last.Time, waiting.Time, w)
		}
	}
}

// A legacy writer whose session runs at +08:00 or -05:00 sets created_at
// by the default, NOW(), its own literal or a bound time: syncd reads the
// same instant each time.
func TestWriterSessionZones(t *testing.T) {
	for _, offset := range []string{"+08:00", "-05:00"} {
		t.Run(offset, func(t *testing.T) {
			t.Parallel()
			db := testdb.New(t, "mysql")
			writer := db.WriterAt(t, offset)
			zone, _ := time.Parse("-07:00", offset)
			from := time.Now()
			writerInserts(t, writer, "tz"+offset, zone.Location())
			checkRelayedTimes(t, db, window{from, time.Now()}, 4)
		})
	}
}

// A server whose global time_zone is not UTC: writers inherit it, and
// syncd's own sessions still run at UTC.
func TestServerGlobalZoneNotUTC(t *testing.T) {
	t.Parallel()
	db := testdb.NewMySQLOn(t, testdb.StartMariaDB(t, "--default-time-zone=+08:00"))
	var writerZone, syncdZone string
	if err := db.Raw.QueryRow(`SELECT @@session.time_zone`).Scan(&writerZone); err != nil || writerZone != "+08:00" {
		t.Fatalf("a writer's session zone is %q (%v), want the server's +08:00", writerZone, err)
	}
	if err := db.Store.SQL().QueryRow(`SELECT @@session.time_zone`).Scan(&syncdZone); err != nil || syncdZone != "+00:00" {
		t.Fatalf("syncd's session zone is %q (%v), want +00:00", syncdZone, err)
	}
	// A Go writer set up for the server's zone: its driver formats bound
	// times in that zone too (go-sql-driver's loc, UTC by default).
	cfg, err := mysql.ParseDSN(db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Loc = time.FixedZone("+08:00", 8*3600)
	writer := testdb.OpenMySQL(t, cfg)
	from := time.Now()
	writerInserts(t, writer, "global", cfg.Loc)
	checkRelayedTimes(t, db, window{from, time.Now()}, 4)
	checkDoneAt(t, db, writer, `NOW()`)
}

// message_reply.done_at, which the legacy application sets with NOW() when
// it has delivered a reply, is the same instant for syncd.
func TestDoneAtFromWriterZone(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "mysql")
	checkDoneAt(t, db, db.WriterAt(t, "+08:00"), `NOW()`)
	sq := testdb.New(t, "sqlite")
	checkDoneAt(t, sq, sq.Raw, `strftime('%Y-%m-%dT%H:%M:%f+08:00', 'now', '+8 hours')`)
}

func checkDoneAt(t *testing.T, db *testdb.DB, writer *sql.DB, now string) {
	t.Helper()
	res, err := db.Store.SQL().Exec(`INSERT INTO message_reply (conversation_key, body, author_type, author_name) VALUES ('k', 'hi', 'agent', 'alice')`)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	from := time.Now()
	if _, err := writer.Exec(`UPDATE message_reply SET status = 'done', done_at = `+now+` WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	w := window{from, time.Now()}
	var done dbtime.Time
	if err := db.Store.SQL().QueryRow(`SELECT done_at FROM message_reply WHERE id = ?`, id).Scan(&done); err != nil {
		t.Fatal(err)
	}
	if !w.has(done.Time) {
		t.Errorf("%s: done_at %v, outside the update %v", db.Driver, done.Time, w)
	}
}

// SQLite has no session zone: CURRENT_TIMESTAMP and the default are UTC,
// and a literal with an offset or a 'Z' is stored as the UTC text of its
// instant, so SQL that compares created_at as text (requeue --since) and
// every reader agree.
func TestSQLiteWriterOffsets(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	from := time.Now()
	for _, expr := range []string{
		`CURRENT_TIMESTAMP`,
		`strftime('%Y-%m-%d %H:%M:%f+08:00', 'now', '+8 hours')`,
		`strftime('%Y-%m-%dT%H:%M:%f-05:00', 'now', '-5 hours')`,
		`strftime('%Y-%m-%dT%H:%M:%SZ', 'now')`,
		`julianday('now')`,
	} {
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('lite', ?, `+expr+`)`, expr); err != nil {
			t.Fatalf("insert with %s: %v", expr, err)
		}
	}
	var text int
	if err := db.Raw.QueryRow(`SELECT COUNT(*) FROM message_sync WHERE created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]'`).Scan(&text); err != nil || text != 5 {
		t.Errorf("%d of 5 created_at values are UTC text (%v)", text, err)
	}
	checkRelayedTimes(t, db, window{from, time.Now()}, 5)
}

// A created_at that no one can read as a time (SQLite keeps any value; a
// number SQLite's date functions do not take) neither stops the claim nor
// `syncd status`: the row is relayed with the time it is relayed.
func TestUnreadableCreatedAt(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, "sqlite")
	ctx := context.Background()
	for _, v := range []any{"yesterday", "", int64(1764252306)} {
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('odd', 'hello', ?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.Store.Stats(ctx, false)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if st.ByStatus["pending"] != 3 || !st.OldestPending.IsZero() || st.OldestPendingAge != 0 {
		t.Errorf("stats %+v: want 3 pending of unknown age", st)
	}
	from := time.Now()
	c := claim(t, db.Store, 10)
	if len(c.Rows) != 3 {
		t.Fatalf("claimed %d rows, want 3", len(c.Rows))
	}
	msgs, err := db.Store.Commit(ctx, c, relayAll(c))
	if err != nil {
		t.Fatal(err)
	}
	w := window{from, time.Now()}
	for _, m := range msgs {
		if !w.has(m.CreatedAt) {
			t.Errorf("message %d created at %v, want the relay's time %v", m.Seq, m.CreatedAt, w)
		}
	}
}

// A created_at in the future (a writer's clock or literal; a row stored in
// local time before migration 0005) is taken as the moment the row is
// relayed: the conversation neither sorts above all others nor reads as
// answered.
func TestFutureCreatedAtCapped(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		ahead := dbtime.Arg(db.Driver == "sqlite", time.Now().Add(8*time.Hour))
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('ahead', 'hi', ?)`, ahead); err != nil {
			t.Fatal(err)
		}
		st, err := db.Store.Stats(ctx, false)
		if err != nil || st.OldestPendingAge != 0 {
			t.Errorf("oldest pending age %v (%v), want 0 for a row from the future", st.OldestPendingAge, err)
		}
		from := time.Now()
		c := claim(t, db.Store, 10)
		if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
			t.Fatal(err)
		}
		checkConversationTimes(t, db, "ahead", window{from, time.Now()})
	})
}

func checkConversationTimes(t *testing.T, db *testdb.DB, key string, w window) {
	t.Helper()
	var last, waiting, created dbtime.Time
	// Raw: the test's ? placeholders on every dialect; these columns are
	// syncd's own (UTC DATETIME on MySQL), so the session zone is moot.
	err := db.Raw.QueryRow(`SELECT c.last_message_at, c.waiting_since, m.created_at FROM conversations c
JOIN chat_messages m ON m.conversation_key = c.conversation_key AND m.seq = c.last_seq WHERE c.conversation_key = ?`, key).
		Scan(&last, &waiting, &created)
	if err != nil {
		t.Fatal(err)
	}
	if !w.has(last.Time) || !w.has(waiting.Time) || !w.has(created.Time) {
		t.Errorf("%s: last message at %v, waiting since %v, message created at %v; want all in %v", key, last.Time, waiting.Time, created.Time, w)
	}
}

// requeue --since compares created_at in SQL, with the writer's times.
func TestRequeueSinceWriterZones(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	my := testdb.New(t, "mysql")
	lite := testdb.New(t, "sqlite")
	for _, c := range []struct {
		db     *testdb.DB
		writer *sql.DB
		now    string
	}{
		{my, my.WriterAt(t, "-05:00"), `NOW(6)`},
		{lite, lite.Raw, `strftime('%Y-%m-%d %H:%M:%f-05:00', 'now', '-5 hours')`},
	} {
		since := time.Now().Add(-time.Minute)
		if _, err := c.writer.Exec(`INSERT INTO message_sync (conversation_key, body, status, created_at) VALUES ('rq', 'x', 'failed', ` + c.now + `)`); err != nil {
			t.Fatal(err)
		}
		res, err := c.db.Store.Requeue(ctx, store.RequeueFilter{Since: since})
		if err != nil || res.Failed != 1 {
			t.Errorf("%s: requeue --since 1m took %d rows (%v), want the row written just now", c.db.Driver, res.Failed, err)
		}
	}
}

// PostgreSQL takes a created_at before year 1 or after 9999 from a writer;
// such a time has no JSON form, so the console could not send the
// conversation. It is a time syncd cannot read: the relay's moment.
func TestPostgresOutOfRangeCreatedAt(t *testing.T) {
	db := testdb.New(t, "postgres")
	ctx := context.Background()
	for _, at := range []string{"0044-03-15 12:00:00 BC", "12026-01-01 00:00:00"} {
		if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body, created_at) VALUES (?, 'hi', '`+at+`')`, "k-"+at[:4]); err != nil {
			t.Fatal(err)
		}
	}
	from := time.Now()
	c := claim(t, db.Store, 10)
	msgs, err := db.Store.Commit(ctx, c, relayAll(c))
	if err != nil || len(msgs) != 2 {
		t.Fatalf("commit: %d messages, %v", len(msgs), err)
	}
	w := window{from, time.Now()}
	for _, m := range msgs {
		if !w.has(m.CreatedAt) {
			t.Errorf("message of %s created at %v, want the relay's time %v", m.ConversationKey, m.CreatedAt, w)
		}
		checkConversationTimes(t, db, m.ConversationKey, w)
	}
}
