package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is a redis-server (or sentinel) this test started on a
// loopback port of its own, with its own directory; the shared Redis is
// never touched.
type redisProc struct {
	port int
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runRedis runs redis-server with the config lines given, in a
// directory of its own, and waits for it to answer.
func runRedis(t *testing.T, name string, lines ...string) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for the Sentinel test: %v", err)
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &redisProc{port: freePort(t)}
	conf := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\nsave \"\"\nappendonly no\n", p.port, dir)
	for _, l := range lines {
		conf += l + "\n"
	}
	path := filepath.Join(dir, name+".conf") // a sentinel rewrites its file
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{path}
	if name == "sentinel" {
		args = append(args, "--sentinel")
	}
	p.cmd = exec.Command(bin, args...)
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		log.Close()
	})
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer c.Close()
	waitFor(t, 10*time.Second, name+" to answer", func() (bool, string) {
		err := c.Ping(context.Background()).Err()
		var re redis.Error
		return err == nil || errors.As(err, &re), fmt.Sprint(err) // NOAUTH answers too
	})
	return p
}

func (p *redisProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// TestSentinelFailover runs two instances against a Redis master, its
// replica and a Sentinel, all of the test's own, kills the master in the
// middle of a backlog and lets the Sentinel promote the replica. The new
// master lacks the shard locks (as a replica that had not yet received
// them would: replication is asynchronous), so an instance can take a
// shard its old holder still believes it holds. The fenced write-back must
// keep that from writing a row twice or losing one, and both instances go
// on relaying through the new master. Order within a conversation is not
// checked: while two instances hold one shard, a claim's hold-back can
// miss the other holder's claim committed a moment later, and a newer row
// may then reach history before an older one (README, "Redis in
// production"); CI saw it once in about thirty runs.
func TestSentinelFailover(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	master := runRedis(t, "master")
	replica := runRedis(t, "replica", "replicaof 127.0.0.1 "+strconv.Itoa(master.port))
	sentinel := runRedis(t, "sentinel",
		"sentinel monitor syncd 127.0.0.1 "+strconv.Itoa(master.port)+" 1",
		"sentinel down-after-milliseconds syncd 1000",
		"sentinel failover-timeout syncd 10000")
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.addr()})
	defer sc.Close()
	masterAddr := func() string {
		a, err := sc.GetMasterAddrByName(ctx, "syncd").Result()
		if err != nil || len(a) != 2 {
			return fmt.Sprint(err)
		}
		return a[0] + ":" + a[1]
	}
	waitFor(t, 15*time.Second, "the sentinel to see the replica", func() (bool, string) {
		rs, err := sc.Replicas(ctx, "syncd").Result()
		return err == nil && len(rs) == 1, fmt.Sprintf("%v %v", rs, err)
	})

	env := func(name string) []string {
		return b.env("SYNCD_INSTANCE="+name, "SYNCD_REDIS_ADDR=", "SYNCD_REDIS_DB=0",
			"SYNCD_REDIS_ADDRS="+sentinel.addr(), "SYNCD_REDIS_MASTER_NAME=syncd")
	}
	const rows = 8000
	ins := []*instance{b.start("sentinel-1", env("sentinel-1")), b.start("sentinel-2", env("sentinel-2"))}
	for _, in := range ins {
		in.waitReady(30 * time.Second)
	}
	if log := ins[0].log(); !strings.Contains(log, "redis sentinel syncd via "+sentinel.addr()) {
		t.Errorf("sentinel-1's start line does not name the Sentinel: %s", tail(ins[0].logPath, 5))
	}
	w := b.startWriter(writerOptions{Rows: rows, Conversations: 80, Over: 6 * time.Second})
	b.waitFor(30*time.Second, "the relay to get going", func() (bool, string) {
		c := b.counts()
		return c.sent >= 1000, c.String()
	})

	at := b.count(`SELECT COALESCE(MAX(id), 0) FROM message_sync`)
	_ = master.cmd.Process.Kill()
	waitFor(t, 30*time.Second, "the sentinel to promote the replica", func() (bool, string) {
		a := masterAddr()
		return a == replica.addr(), "master is " + a
	})
	// The writes the replica had not received: the shard locks.
	nm := redis.NewClient(&redis.Options{Addr: replica.addr()})
	defer nm.Close()
	keys, err := nm.Keys(ctx, "*lock:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := nm.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("master killed at row %d (%v); replica promoted; %d lock keys dropped from it", at, b.counts(), len(keys))

	after := b.counts()
	b.waitFor(60*time.Second, "the relay to go on through the new master", func() (bool, string) {
		c := b.counts()
		return c.sent > after.sent+1000 || c.sent+c.failed == rows, c.String()
	})
	w.wait(t, 60*time.Second, rows)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		// What each instance is doing: a goroutine dump into its log, kept
		// beside the test's output.
		for _, in := range ins {
			if !in.exited() {
				_ = in.cmd.Process.Signal(syscall.SIGQUIT)
			}
		}
		time.Sleep(time.Second)
		for _, in := range ins {
			if keep := os.Getenv("SYNCD_E2E_KEEP_LOGS"); keep != "" {
				raw, _ := os.ReadFile(in.logPath)
				_ = os.WriteFile(filepath.Join(keep, in.name+".log"), raw, 0o644)
			}
		}
		keys, _ := nm.Keys(ctx, "*").Result()
		for _, k := range keys {
			v, _ := nm.Get(ctx, k).Result()
			ttl, _ := nm.PTTL(ctx, k).Result()
			t.Logf("new master: %s = %q (ttl %s)", k, v, ttl)
		}
		r, err := b.db.Query(`SELECT conversation_key, shard_bucket, COUNT(*), MIN(id), MAX(attempts), MAX(COALESCE(last_error, '')), MAX(COALESCE(claimed_by, ''))
FROM message_sync WHERE status = 'pending' GROUP BY conversation_key, shard_bucket`)
		if err == nil {
			for r.Next() {
				var key, lastErr, by string
				var bucket, n, minID, att int
				_ = r.Scan(&key, &bucket, &n, &minID, &att, &lastErr, &by)
				t.Logf("pending: %s bucket %d: %d rows from %d, attempts %d, by %q, last error %q", key, bucket, n, minID, att, by, lastErr)
			}
			r.Close()
		}
	})
	b.waitSettled(90*time.Second, rows)
	for _, in := range ins {
		if in.exited() {
			t.Errorf("%s exited during the failover: %s", in.name, in.problems())
		}
	}
	// Both instances relayed through the new master.
	for _, in := range ins {
		if n := b.count(`SELECT COUNT(*) FROM message_sync WHERE claimed_by = ? AND status = 'sent' AND id > ?`, in.name, at); n == 0 {
			t.Errorf("%s relayed no row inserted after the failover", in.name)
		}
	}
	b.stopAll(30 * time.Second)
	b.anyOrder = true
	b.verifyExactlyOnce(rows)
}
