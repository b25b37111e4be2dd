package relay

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// outageLength is how long a dependency stays cut: longer than the Redis
// lock TTL (2s) and than a readiness probe period (2s).
const outageLength = 4 * time.Second

// TestOutageDatabase routes two instances' database connections through a
// proxy and cuts it for a few seconds while a writer keeps inserting rows
// (straight into MariaDB, as the legacy application is not behind the
// proxy): /readyz must name the database as not ready, the processes must
// keep running, and after the restore every row is relayed exactly once.
func TestOutageDatabase(t *testing.T) {
	b := setup(t)
	px := newProxy(t, "mariadb", b.mysqlAddr())
	dsn := b.dsnVia(px.Addr())
	testOutage(t, b, px, "database", func(name string) []string {
		return b.env("SYNCD_INSTANCE="+name, "SYNCD_DATABASE_DSN="+dsn)
	})
}

// TestOutageRedis is TestOutageDatabase for Redis: the shard locks are
// lost for a few seconds; /readyz must name redis, and no row may be lost
// or relayed twice.
func TestOutageRedis(t *testing.T) {
	b := setup(t)
	px := newProxy(t, "redis", testdb.RedisAddr())
	testOutage(t, b, px, "redis", func(name string) []string {
		return b.env("SYNCD_INSTANCE="+name, "SYNCD_REDIS_ADDR="+px.Addr())
	})
}

func testOutage(t *testing.T, b *bundle, px *proxy, dep string, env func(name string) []string) {
	const rows = 6000
	ins := []*instance{b.start("outage-1", env("outage-1")), b.start("outage-2", env("outage-2"))}
	for _, in := range ins {
		in.waitReady(30 * time.Second)
	}
	w := b.startWriter(writerOptions{Rows: rows, Conversations: 60, Over: 8 * time.Second})
	b.waitFor(30*time.Second, "the relay to get going", func() (bool, string) {
		c := b.counts()
		return c.sent >= 1000, c.String()
	})

	t.Logf("cutting %s at %v", dep, b.counts())
	cutAt := time.Now()
	px.Cut()
	for _, in := range ins {
		b.waitFor(15*time.Second, in.name+"'s /readyz to report "+dep+" down", func() (bool, string) {
			r, err := in.readyz()
			if err != nil {
				return false, err.Error()
			}
			state := r.Checks[dep]
			return r.Code == http.StatusServiceUnavailable && !r.Ready && state != "" && state != "ok",
				fmt.Sprintf("%d ready=%v checks=%v", r.Code, r.Ready, r.Checks)
		})
		up, err := in.metric(fmt.Sprintf(`syncd_dependency_up{dependency=%q}`, dep))
		if err != nil || up != 0 {
			t.Errorf("%s: syncd_dependency_up{dependency=%q} = %v (%v) while it is cut, want 0", in.name, dep, up, err)
		}
	}
	r, _ := ins[0].readyz()
	t.Logf("%s down after %s: /readyz %d %v", dep, time.Since(cutAt).Round(time.Millisecond), r.Code, r.Checks)

	// An instance that starts during the outage serves /readyz, says it
	// is not ready, waits, and joins in once the outage ends.
	late := b.start("outage-late", env("outage-late"))
	b.waitFor(15*time.Second, "the late instance's /readyz to report "+dep+" not ready", func() (bool, string) {
		r, err := late.readyz()
		if err != nil {
			return false, err.Error()
		}
		state := r.Checks[dep]
		return r.Code == http.StatusServiceUnavailable && state != "" && state != "ok", fmt.Sprintf("%d %v", r.Code, r.Checks)
	})
	ins = append(ins, late)
	// The outage itself: keep the dependency cut for outageLength in all,
	// checking that both processes keep running.
	b.waitFor(outageLength+time.Second, "the outage to last its length", func() (bool, string) {
		return time.Since(cutAt) >= outageLength, "cut"
	})
	during := b.counts()
	px.Restore()
	t.Logf("restored %s after %s at %v", dep, time.Since(cutAt).Round(time.Millisecond), during)

	for _, in := range ins {
		in.waitReady(20 * time.Second)
	}
	w.wait(t, 90*time.Second, rows)
	b.waitSettled(90*time.Second, rows)
	b.stopAll(30 * time.Second)
	b.verifyExactlyOnce(rows)

	if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE claimed_by = 'outage-late'`); n == 0 {
		t.Logf("the late instance claimed no rows")
	}
	for _, in := range ins[:2] {
		if log := in.log(); !strings.Contains(log, "dependency unreachable") || !strings.Contains(log, "dependency reachable again") {
			t.Errorf("%s's log does not report the %s outage and its end", in.name, dep)
		}
	}
}
