package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/lock"
)

// syncd_relay_latency_seconds counts from created_at, whatever the
// writer's zone: a row from a +08:00 session, one from -05:00, one whose
// created_at is in the future, and one that an empty sql_mode stored as
// the zero date (a literal MariaDB could not read) leave a sum between
// zero and the test's own duration, never a negative or a centuries-long
// latency.
func TestRelayLatencyFromWriterZones(t *testing.T) {
	b := &bundle{db: testdb.New(t, "mysql")}
	ctx := context.Background()
	start := time.Now()
	for _, offset := range []string{"+08:00", "-05:00"} {
		if _, err := b.db.WriterAt(t, offset).Exec(`INSERT INTO message_sync (conversation_key, body) VALUES (?, 'hello')`, "tz"+offset); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('ahead', 'hi', UTC_TIMESTAMP(6) + INTERVAL 1 HOUR)`); err != nil {
		t.Fatal(err)
	}
	conn, err := b.db.Raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`SET SESSION sql_mode = ''`, `INSERT INTO message_sync (conversation_key, body, created_at) VALUES ('zero', 'hi', 'not a time')`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	newPoller(t, b, b.db.Store, lock.NewLocal(), bridge.New(bridge.Options{}), "solo")
	eventually(t, "all rows sent", 20*time.Second, func() bool {
		return countWhere(t, b.db, `SELECT COUNT(*) FROM message_sync WHERE status = 'sent'`) == 4
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(b.metrics.Latency)
	var count uint64
	var sum float64
	// The poller observes a batch's latencies just after its commit, which
	// the rows' status shows first.
	eventually(t, "the latencies observed", 5*time.Second, func() bool {
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 {
			t.Fatalf("gather latency: %v", err)
		}
		h := mfs[0].GetMetric()[0].GetHistogram()
		count, sum = h.GetSampleCount(), h.GetSampleSum()
		return count >= 3
	})
	if most := time.Since(start).Seconds() * float64(count); count != 3 || sum < 0 || sum > most {
		t.Errorf("latency histogram: %d samples summing to %.1fs; want 3 (the zero date has none) in [0, %.1fs]", count, sum, most)
	}
}
