package relay

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestThreeInstancesKillOneMidRun runs three instances against one MariaDB
// and Redis while a legacy writer inserts 20,000 rows into 200
// conversations, kills one instance with SIGKILL while the backlog is
// large, restarts it, and checks that every row was relayed exactly once,
// in order within its conversation.
func TestThreeInstancesKillOneMidRun(t *testing.T) {
	for _, d := range relayDialects {
		t.Run(d, func(t *testing.T) { threeInstancesKillOneMidRun(t, setupOn(t, d)) })
	}
}

func threeInstancesKillOneMidRun(t *testing.T, b *bundle) {
	const rows = 20000
	env := func(name string) []string { return b.env("SYNCD_INSTANCE=" + name) }

	// The writer starts first so that a backlog is waiting when the
	// instances come up, and goes on inserting while they run.
	start := time.Now()
	w := b.startWriter(writerOptions{Rows: rows, Conversations: 200, Over: 3 * time.Second, Batch: 50})
	b.waitFor(30*time.Second, "the writer to build a backlog", func() (bool, string) {
		return w.Inserted() >= 2000, fmt.Sprintf("%d rows inserted", w.Inserted())
	})
	ins := []*instance{b.start("relay-1", env("relay-1")), b.start("relay-2", env("relay-2")), b.start("relay-3", env("relay-3"))}

	// Kill relay-2 while it holds claims, once it has done some of its
	// share, with a backlog in the table and most of the work still ahead.
	victim := ins[1]
	var held int
	b.waitFor(60*time.Second, "relay-2 to relay rows while a backlog waits", func() (bool, string) {
		c := b.counts()
		var mine int
		held, mine = b.claimedBy("relay-2")
		return c.sent >= 2000 && c.pending >= 1000 && mine >= 200 && held > 0,
			fmt.Sprintf("%v; relay-2 sent %d, holds %d", c, mine, held)
	})
	victim.kill()
	at := b.counts()
	ahead := rows - at.sent - at.failed
	t.Logf("%s: SIGKILL relay-2 with %d rows processing under its claims; %v; %d of %d rows inserted; %d rows still to relay",
		since(start), held, at, w.Inserted(), rows, ahead)
	if ahead < rows/4 {
		t.Fatalf("the kill came too late to test anything: only %d rows left to relay", ahead)
	}

	// The survivors take over relay-2's shards once its locks expire, take
	// its abandoned claims back and carry on.
	b.waitFor(60*time.Second, "the survivors to take back relay-2's claims and carry on", func() (bool, string) {
		c := b.counts()
		left, _ := b.claimedBy("relay-2")
		return left == 0 && c.sent > at.sent+1000, fmt.Sprintf("%v; %d rows still processing under relay-2", c, left)
	})

	t.Logf("%s: the survivors took over: %v", since(start), b.counts())

	// relay-2 comes back under the same name, as a restarted pod would.
	restarted := b.start("relay-2-restarted", env("relay-2"))
	restarted.waitReady(30 * time.Second)

	w.wait(t, 120*time.Second, rows)
	t.Logf("%s: writer done: %v", since(start), b.counts())
	b.waitSettled(120*time.Second, rows)
	t.Logf("%s: settled", since(start))
	for _, in := range []*instance{ins[0], ins[2], restarted} {
		t.Logf("%s: %s", in.name, in.relayMetrics())
	}
	b.stopAll(30 * time.Second)
	b.verifyExactlyOnce(rows)

	retried := b.count(`SELECT COUNT(*) FROM message_sync WHERE attempts > 0`)
	t.Logf("%d rows needed more than one attempt", retried)
}

// TestGracefulShutdown sends SIGTERM to an instance in the middle of a
// large backlog: it must exit 0 within its shutdown timeout without leaving
// a row processing, and a new instance must finish the rest exactly once.
// It runs with Redis locks and with in-process locks (where a row left
// processing would wait for its lease).
func TestGracefulShutdown(t *testing.T) {
	for _, d := range oneProcessDialects {
		t.Run(d, func(t *testing.T) { gracefulShutdown(t, d) })
	}
}

func gracefulShutdown(t *testing.T, driver string) {
	for _, mode := range []string{"redis", "in-process"} {
		if driver == "sqlite" && mode == "redis" {
			continue // one process holds a SQLite file
		}
		t.Run(mode+" locks", func(t *testing.T) {
			b := setupOn(t, driver)
			const rows = 10000
			env := b.env("SYNCD_POLLER_BATCH_SIZE=250")
			if mode == "in-process" {
				env = append(env, "SYNCD_REDIS_ADDR=")
			}
			w := b.startWriter(writerOptions{Rows: rows, Conversations: 100, Batch: 500})
			w.wait(t, 60*time.Second, rows)

			first := b.start("first", append(env, "SYNCD_INSTANCE=first"), "--shutdown-timeout", "20s")
			b.waitFor(60*time.Second, "the relay to get going", func() (bool, string) {
				c := b.counts()
				return c.sent >= 1000, c.String()
			})
			at := b.counts()
			took, ok := first.stop(25 * time.Second)
			if !ok {
				t.Fatalf("first did not exit within 25s of SIGTERM (shutdown timeout 20s)")
			}
			if code := first.exitCode(); code != 0 {
				t.Errorf("first exited with %d after SIGTERM, want 0", code)
			}
			after := b.counts()
			t.Logf("SIGTERM at %v; exited after %s; then %v", at, took.Round(time.Millisecond), after)
			if after.processing != 0 {
				var held []string
				r, err := b.db.Query(`SELECT id, claimed_by, lease_until FROM message_sync WHERE status = 'processing' ORDER BY id LIMIT 5`)
				if err == nil {
					for r.Next() {
						var id int64
						var by, lease string
						_ = r.Scan(&id, &by, &lease)
						held = append(held, fmt.Sprintf("%d (%s, lease until %s)", id, by, lease))
					}
					r.Close()
				}
				t.Errorf("%d rows left processing after a graceful shutdown, e.g. %s", after.processing, strings.Join(held, ", "))
			}
			if after.pending == 0 {
				t.Fatalf("the backlog was drained before SIGTERM landed; the test needs a larger backlog")
			}
			log := first.log()
			for _, want := range []string{"shutting down: finishing the batches in hand", "msg=stopped"} {
				if !strings.Contains(log, want) {
					t.Errorf("first's log lacks %q", want)
				}
			}

			start := time.Now()
			second := b.start("second", append(env, "SYNCD_INSTANCE=second"))
			second.waitReady(30 * time.Second)
			// No row waits for a lease: with nothing left processing the
			// rest is relayed at once (a few seconds; the deadline is for a
			// loaded machine).
			b.waitSettled(90*time.Second, rows)
			t.Logf("second finished the backlog in %s", since(start))
			b.stopAll(30 * time.Second)
			b.verifyExactlyOnce(rows)
			if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE claimed_by = 'second' AND status = 'sent'`); n == 0 {
				t.Errorf("second relayed nothing; the test did not exercise the restart")
			}
		})
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }

// claimedBy counts the rows an instance holds (processing) and has sent.
func (b *bundle) claimedBy(instance string) (processing, sent int) {
	b.t.Helper()
	err := b.db.QueryRow(`SELECT COALESCE(SUM(CASE WHEN status = 'processing' THEN 1 ELSE 0 END), 0),
 COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0)
FROM message_sync WHERE claimed_by = ?`, instance).Scan(&processing, &sent)
	if err != nil {
		b.t.Fatalf("count rows claimed by %s: %v", instance, err)
	}
	return processing, sent
}

// TestKillRestartSingleInstance crashes a single instance with in-process
// locks (the locking of the embedded default) in the middle of a backlog
// and restarts it at once, as a service manager would (on SQLite too, the
// embedded default). The rows the dead
// process held stay processing until their lease (5s here) runs out; the
// restarted instance must not relay later rows of those conversations
// before them.
func TestKillRestartSingleInstance(t *testing.T) {
	for _, d := range oneProcessDialects {
		t.Run(d, func(t *testing.T) { killRestartSingleInstance(t, setupOn(t, d)) })
	}
}

func killRestartSingleInstance(t *testing.T, b *bundle) {
	const rows = 10000
	env := b.env("SYNCD_REDIS_ADDR=", "SYNCD_INSTANCE=single", "SYNCD_POLLER_BATCH_SIZE=250")
	w := b.startWriter(writerOptions{Rows: rows, Conversations: 100, Batch: 500})
	w.wait(t, 60*time.Second, rows)

	first := b.start("single", env)
	var held int
	b.waitFor(60*time.Second, "the instance to hold claims mid-backlog", func() (bool, string) {
		c := b.counts()
		held, _ = b.claimedBy("single")
		return c.sent >= 1000 && held > 0, fmt.Sprintf("%v; holds %d", c, held)
	})
	first.kill()
	t.Logf("SIGKILL with %d rows processing; %v", held, b.counts())

	restarted := b.start("single-restarted", env)
	restarted.waitReady(30 * time.Second)
	b.waitSettled(90*time.Second, rows)
	b.stopAll(30 * time.Second)
	b.verifyExactlyOnce(rows)
}
