package chatcore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

func redisAddr() string {
	if a := os.Getenv("SYNCD_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// redisClient connects to the test Redis and closes the client at cleanup
// (after the Cores, which are cleaned up first since they are set up later).
func redisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rc.Close() })
	return rc
}

func channel() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "syncd:test:" + hex.EncodeToString(b)
}

// instance starts a Core named name on db with a Redis broker.
func instance(t *testing.T, name string, db *bundle, rc *redis.Client, ch string, sweep time.Duration) *bundle {
	t.Helper()
	dbh := db.db
	return setup(t, setupOpts{db: dbh, mutate: func(o *chatcore.Options) {
		o.Instance = name
		o.Broker = broker.NewRedis(rc, broker.RedisOptions{Channel: ch, MaxBackoff: 200 * time.Millisecond})
		if sweep > 0 {
			o.SweepInterval = sweep
		}
	}})
}

// Two instances share Redis: an agent on A sees what B publishes, and
// conversation changes made on B, without waiting for the sweep.
func TestRedisAcrossInstances(t *testing.T) {
	t.Parallel()
	rc := redisClient(t, redisAddr())
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", redisAddr(), err)
	}
	shared := &bundle{db: chatstoretest.Open(t, schema.MySQL)}
	ch := channel()
	a := instance(t, "A", shared, rc, ch, time.Hour) // no sweep: the broker alone
	b := instance(t, "B", shared, rc, ch, time.Hour)
	chatstoretest.Relay(t, shared.db, "k", "hi")
	alice := a.login(t, "alice")
	ws := alice.dial()
	bobOnB := b.login(t, "bob")

	awaitBroker(t, b, ws)

	var lat []time.Duration
	for i := range 50 {
		start := time.Now()
		if err := b.core.Publish(b.ctx, []chat.Message{msg("k", int64(i+2), "from B")}); err != nil {
			t.Fatal(err)
		}
		f := ws.await(5*time.Second, func(f serverFrame) bool { return f.Type == "message" && f.message(t).ConversationKey == "k" })
		if m := f.message(t); m.Seq != int64(i+2) {
			t.Fatalf("got seq %d, want %d", m.Seq, i+2)
		}
		lat = append(lat, f.at.Sub(start))
	}
	slices.Sort(lat)
	// Delivery and order are asserted above; how fast is for the benchmarks.
	t.Logf("publish on B -> socket on A: p50 %v, p99 %v, max %v", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])

	start := time.Now()
	if res := bobOnB.do("POST", "/api/conversations/k/assign", map[string]any{"assignee": "bob"}, nil); res.status != 200 {
		t.Fatalf("assign on B: %d %s", res.status, res.body)
	}
	f := ws.await(5*time.Second, func(f serverFrame) bool { return f.Type == "conversation" })
	if c := f.conversation(t); c.Key != "k" || c.Assignee == nil || *c.Assignee != "bob" {
		t.Fatalf("conversation frame on A = %+v", c)
	}
	t.Logf("assignment on B -> socket on A: %v", f.at.Sub(start))
}

// A Redis outage crashes nothing and blocks no publisher; pushes resume
// when Redis is back, and the sweep delivers what was committed meanwhile.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	proxy := newProxy(t, redisAddr())
	rc := redisClient(t, proxy.addr())
	shared := &bundle{db: chatstoretest.Open(t, schema.SQLite)}
	ch := channel()
	a := instance(t, "A", shared, rc, ch, 200*time.Millisecond)
	b := instance(t, "B", shared, rc, ch, time.Hour)
	ws := a.login(t, "alice").dial()
	published := 0
	publish := func() time.Duration {
		published++
		start := time.Now()
		if err := b.core.Publish(b.ctx, []chat.Message{msg("ping", int64(published), "x")}); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	reached := func() bool {
		publish()
		f, err := ws.read(150 * time.Millisecond)
		return err == nil && f.Type == "message"
	}
	eventually(t, 5*time.Second, "a first push through Redis", reached)

	proxy.cut()
	// Publish must not wait on the dead connection (go-redis would retry
	// and time out after seconds); a second is far above a local hand-off
	// and far below any Redis timeout.
	for range 20 {
		if d := publish(); d > time.Second {
			t.Fatalf("Publish blocked %v during the outage", d)
		}
	}
	// Committed on B during the outage: A's sweep finds it.
	chatstoretest.Relay(t, shared.db, "during-outage", "are you there?")
	f := ws.await(5*time.Second, func(f serverFrame) bool {
		return f.Type == "conversation" && f.conversation(t).Key == "during-outage"
	})
	if c := f.conversation(t); c.LastMessage == nil || c.LastMessage.Body != "are you there?" {
		t.Fatalf("swept conversation = %+v", c)
	}
	eventually(t, 5*time.Second, "publishes dropped while Redis is away", func() bool {
		publish()
		return b.core.Stats().PublishDropped > 0
	})

	proxy.restore()
	start := time.Now()
	eventually(t, 15*time.Second, "pushes through Redis again", func() bool {
		publish()
		for {
			f, err := ws.read(150 * time.Millisecond)
			if err != nil {
				return false
			}
			if f.Type == "message" {
				return true
			}
		}
	})
	t.Logf("pushes resumed %v after Redis came back", time.Since(start))
}

// awaitBroker waits until what from publishes reaches the socket ws of
// another instance (subscriptions start asynchronously), then empties ws.
func awaitBroker(t *testing.T, from *bundle, ws *wsClient) {
	t.Helper()
	eventually(t, 5*time.Second, "a publish to reach the other instance", func() bool {
		if err := from.core.Publish(from.ctx, []chat.Message{msg("warmup", 1, "x")}); err != nil {
			t.Fatal(err)
		}
		_, err := ws.read(100 * time.Millisecond)
		return err == nil
	})
	drain(ws)
}

// drain discards the frames that have arrived so far.
func drain(w *wsClient) {
	for {
		select {
		case <-w.frames:
		default:
			return
		}
	}
}

// proxy forwards TCP to a target; cut drops every connection and refuses
// new ones until restore.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(up, c) })
		p.wg.Go(func() { pipe(c, up) })
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}
