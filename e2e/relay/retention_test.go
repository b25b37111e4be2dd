package relay

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// retentionSeed are rows written before syncd starts: expired ones, and
// old ones retention must leave alone.
type retentionSeed struct {
	expiredSent, expiredReplies int
	keepIDs                     map[string][]int64 // what → message_sync ids that must outlive retention
	waitingRetry                []int64            // pending, due in an hour: pending all along
	pendingReplies              int
}

func (b *bundle) seedRetention(old time.Time) retentionSeed {
	b.t.Helper()
	s := retentionSeed{expiredSent: 300, expiredReplies: 120, pendingReplies: 7, keepIDs: map[string][]int64{}}
	// Multi-row INSERT … SELECT would be faster; a few hundred rows one by
	// one keep the SQL one form for both servers.
	ins := func(key, status string, processed, retry any) int64 {
		b.t.Helper()
		body := fmt.Sprintf("seed %s %s %d", key, status, len(s.keepIDs)+s.expiredSent)
		if _, err := b.db.Exec(`INSERT INTO message_sync (conversation_key, body, status, processed_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)`,
			key, body+randomHex(4), status, processed, retry); err != nil {
			b.t.Fatalf("seed %s row: %v", status, err)
		}
		return int64(b.count(`SELECT MAX(id) FROM message_sync`))
	}
	for i := range s.expiredSent {
		ins(fmt.Sprintf("old-%d", i%30), "sent", old, nil)
	}
	for i := range 10 {
		// failed rows have no horizon in this configuration.
		s.keepIDs["failed long ago"] = append(s.keepIDs["failed long ago"], ins(fmt.Sprintf("failed-%d", i), "failed", old, nil))
		// Rows set back by hand keep their processed_at: pending is what counts.
		s.keepIDs["pending, processed long ago"] = append(s.keepIDs["pending, processed long ago"], ins(fmt.Sprintf("repend-%d", i), "pending", old, nil))
		// Processing rows no claim covers: syncd takes them back and relays them.
		s.keepIDs["processing, processed long ago"] = append(s.keepIDs["processing, processed long ago"], ins(fmt.Sprintf("orphan-%d", i), "processing", old, nil))
		id := ins(fmt.Sprintf("retry-%d", i), "pending", old, time.Now().Add(time.Hour))
		s.waitingRetry = append(s.waitingRetry, id)
		s.keepIDs["pending, waiting for a retry"] = append(s.keepIDs["pending, waiting for a retry"], id)
	}
	for i := range s.expiredReplies {
		if _, err := b.db.Exec(`INSERT INTO message_reply (conversation_key, body, status, author_type, author_name, done_at) VALUES (?, 'old reply', 'done', 'agent', 'ann', ?)`,
			fmt.Sprintf("old-%d", i%30), old); err != nil {
			b.t.Fatalf("seed reply: %v", err)
		}
	}
	for range s.pendingReplies {
		if _, err := b.db.Exec(`INSERT INTO message_reply (conversation_key, body, status, author_type, author_name, created_at) VALUES ('old-1', 'waiting reply', 'pending', 'agent', 'ann', ?)`, old); err != nil {
			b.t.Fatalf("seed reply: %v", err)
		}
	}
	return s
}

// Retention deletes the expired sent rows and done replies while the relay
// runs and a legacy writer goes on inserting, and never a pending or
// processing row or a reply the legacy application has not read; `syncd
// purge --dry-run` counts the same rows beforehand and deletes nothing.
func TestRetentionWhileRelaying(t *testing.T) {
	for _, driver := range relayDialects {
		t.Run(driver, func(t *testing.T) {
			b := setupOn(t, driver)
			old := time.Now().UTC().Add(-72 * time.Hour)
			seed := b.seedRetention(old)
			env := b.env("SYNCD_RETENTION_SENT_ROWS=24h", "SYNCD_RETENTION_REPLIES_DONE=24h")

			dry := b.runCLI(30*time.Second, env, "purge", "--dry-run")
			if dry.code != 0 {
				t.Fatalf("syncd purge --dry-run: exit %d\nstdout: %s\nstderr: %s", dry.code, dry.stdout, dry.stderr)
			}
			day := old.Format("2006-01-02")
			for table, want := range map[string]int{"message_sync": seed.expiredSent, "message_reply": seed.expiredReplies} {
				if line := lineOf(dry.stdout, table); !strings.Contains(line, fmt.Sprintf(" %d ", want)) || strings.Count(line, day) != 2 {
					t.Errorf("dry run: %s line %q does not say %d rows from %s to %s:\n%s", table, line, want, day, day, dry.stdout)
				}
			}
			if strings.Contains(dry.stdout, "failed rows") {
				t.Errorf("dry run lists failed rows, which this configuration keeps:\n%s", dry.stdout)
			}
			if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`); n != seed.expiredSent {
				t.Fatalf("after the dry run %d sent rows, want all %d", n, seed.expiredSent)
			}

			const rows = 400
			w := b.startWriter(writerOptions{Rows: rows, Conversations: 40, Over: 3 * time.Second})
			in := b.start("retention", env)
			in.waitReady(30 * time.Second)
			b.waitFor(60*time.Second, "retention to delete the expired rows", func() (bool, string) {
				sent, _ := in.metric(`syncd_retention_deleted_total{table="message_sync"}`)
				replies, _ := in.metric(`syncd_retention_deleted_total{table="message_reply"}`)
				return sent == float64(seed.expiredSent) && replies == float64(seed.expiredReplies),
					fmt.Sprintf("deleted %v sent rows, %v replies", sent, replies)
			})
			w.wait(t, 30*time.Second, rows)
			// The writer's rows and the seeded ones that were not expired:
			// every one of them is relayed (or failed as invalid) and kept.
			kept := 0
			for _, ids := range seed.keepIDs {
				kept += len(ids)
			}
			b.waitFor(60*time.Second, "the writer's and the taken-back rows to be relayed", func() (bool, string) {
				c := b.counts()
				return c.total() == rows+kept && c.pending == len(seed.waitingRetry) && c.processing == 0, c.String()
			})

			for what, ids := range seed.keepIDs {
				for _, id := range ids {
					if b.count(`SELECT COUNT(*) FROM message_sync WHERE id = ?`, id) != 1 {
						t.Errorf("row %d (%s) was deleted", id, what)
					}
				}
			}
			for _, id := range seed.waitingRetry {
				if b.count(`SELECT COUNT(*) FROM message_sync WHERE id = ? AND status = 'pending'`, id) != 1 {
					t.Errorf("row %d waiting for its retry is no longer pending", id)
				}
			}
			if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE conversation_key LIKE 'old-%'`); n != 0 {
				t.Errorf("%d expired sent rows are left", n)
			}
			if n := b.count(`SELECT COUNT(*) FROM message_reply WHERE status = 'pending'`); n != seed.pendingReplies {
				t.Errorf("%d pending replies left, want all %d", n, seed.pendingReplies)
			}
			if n := b.count(`SELECT COUNT(*) FROM message_reply WHERE status = 'done'`); n != 0 {
				t.Errorf("%d expired done replies left", n)
			}
			if !strings.Contains(in.log(), `table=message_sync kind="sent rows" rows=300 `) {
				t.Errorf("no log line of the pass's deletes:\n%s", tail(in.logPath, 20))
			}
			b.stopAll(30 * time.Second)
		})
	}
}

// lineOf is the first line of out that starts with prefix.
func lineOf(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
