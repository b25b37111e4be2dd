package presence_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/syncd-dev/syncd/chatcore/presence"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).reaper"))
}

func redisAddr() string {
	if a := os.Getenv("SYNCD_TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

func prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "syncd:test:presence:" + hex.EncodeToString(b)
}

// waitFor polls cond until it holds or 10s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func online(t *testing.T, p interface {
	Online(context.Context) ([]string, error)
}) []string {
	t.Helper()
	names, err := p.Online(context.Background())
	if err != nil {
		t.Fatalf("Online: %v", err)
	}
	return names
}

func TestMemoryCountsSockets(t *testing.T) {
	m := presence.NewMemory()
	m.Connect("bob")
	m.Connect("alice")
	m.Connect("alice") // a second tab
	if got := online(t, m); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("online = %v, want [alice bob]", got)
	}
	m.Disconnect("alice")
	m.Disconnect("bob")
	if got := online(t, m); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("after one of alice's tabs closed: online = %v, want [alice]", got)
	}
	m.Disconnect("alice")
	m.Disconnect("alice") // more than were connected: nothing goes negative
	m.Connect("alice")
	if got := online(t, m); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("online = %v, want [alice]", got)
	}
}

// instance is one process's presence, run until cleanup.
type instance struct {
	*presence.Redis
	client *redis.Client
	stop   func()
}

func start(t *testing.T, pfx, name string, ttl time.Duration) *instance {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redisAddr(), MaxRetries: -1, DialTimeout: time.Second})
	p, err := presence.NewRedis(rc, presence.RedisOptions{Prefix: pfx, Instance: name, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.Run(ctx) })
	in := &instance{Redis: p, client: rc}
	var once sync.Once
	in.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(func() { in.stop(); rc.Close() })
	return in
}

func TestRedisInstancesSeeEachOther(t *testing.T) {
	pfx := prefix()
	a := start(t, pfx, "a", 15*time.Second)
	b := start(t, pfx, "b", 15*time.Second)
	a.Connect("alice")
	b.Connect("bob")
	b.Connect("alice") // alice has tabs on both
	want := []string{"alice", "bob"}
	for _, in := range []*instance{a, b} {
		waitFor(t, "both instances' agents online", func() bool { return slices.Equal(online(t, in), want) })
	}
	// Going offline is told at once, not at the next tick of 5s.
	b.Disconnect("bob")
	waitFor(t, "bob offline on a", func() bool { return slices.Equal(online(t, a), []string{"alice"}) })
	// A clean stop takes b's agents away at once, too.
	b.Connect("bob")
	waitFor(t, "bob online on a", func() bool { return slices.Contains(online(t, a), "bob") })
	b.stop()
	waitFor(t, "b's agents gone after its stop", func() bool { return slices.Equal(online(t, a), []string{"alice"}) })
}

// An instance that dies (here: loses Redis, so it can neither beat nor say
// goodbye) drops out when its TTL runs out.
func TestRedisDeadInstanceExpires(t *testing.T) {
	pfx := prefix()
	const ttl = 500 * time.Millisecond
	a := start(t, pfx, "a", ttl)
	b := start(t, pfx, "b", ttl)
	b.Connect("bob")
	waitFor(t, "bob online on a", func() bool { return slices.Contains(online(t, a), "bob") })
	// While b lives its heartbeats renew the set: bob outlives several
	// TTLs. (The one sleep here is the thing tested: time passing.)
	time.Sleep(4 * ttl)
	if !slices.Contains(online(t, a), "bob") {
		t.Fatal("bob went offline while b was beating")
	}
	b.client.Close() // b's beats and its goodbye fail from now on
	waitFor(t, "bob offline once b's TTL ran out", func() bool { return !slices.Contains(online(t, a), "bob") })
	// b still counts its own agent: it is this instance's truth.
	names, _ := b.Online(context.Background())
	if !slices.Contains(names, "bob") {
		t.Fatalf("b.Online = %v, want bob among them", names)
	}
}
