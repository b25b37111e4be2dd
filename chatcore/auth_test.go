package chatcore_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/credentials"
	"github.com/syncd-dev/syncd/chatcore/loginstate"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
	schema "github.com/syncd-dev/syncd/sql"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	b.addAgent(t, "alice", "correct horse")

	c := b.client(t)
	if res := c.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("me before login: %d", res.status)
	}
	for _, tc := range []struct {
		name string
		body any
		want int
	}{
		{"wrong password", map[string]string{"username": "alice", "password": "wrong horse"}, 401},
		{"unknown agent", map[string]string{"username": "mallory", "password": "correct horse"}, 401},
		{"empty", map[string]string{}, 401},
		{"not json", "{", 401}, // form-encoded garbage: no username
		{"form", "username=alice&password=correct+horse", 200},
		{"json, other case", map[string]string{"username": " Alice ", "password": "correct horse"}, 200},
	} {
		res := b.client(t).do("POST", "/api/login", tc.body, nil)
		if res.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, res.status, res.body, tc.want)
		}
		if tc.want == 401 && strings.Contains(res.header.Get("Set-Cookie"), "syncd_session=e") {
			t.Errorf("%s: a failed login set a session", tc.name)
		}
	}

	res := c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "correct horse"}, nil)
	if res.status != 200 || !strings.Contains(res.body, `"username":"alice"`) {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	ck := res.header.Get("Set-Cookie")
	for _, attr := range []string{"syncd_session=", "Path=/", "HttpOnly", "SameSite=Strict", "Expires="} {
		if !strings.Contains(ck, attr) {
			t.Errorf("cookie %q lacks %s", ck, attr)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("cookie %q is Secure on plain HTTP", ck)
	}
	if res := c.do("GET", "/api/me", nil, nil); res.status != 200 || !strings.Contains(res.body, "alice") {
		t.Fatalf("me: %d %s", res.status, res.body)
	}
	if res := c.do("POST", "/api/logout", nil, nil); res.status != 204 {
		t.Fatalf("logout: %d", res.status)
	}
	if res := c.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("me after logout: %d", res.status)
	}
}

func TestSecureCookieOption(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.SecureCookie = true }})
	b.addAgent(t, "alice", "correct horse")
	res := b.client(t).do("POST", "/api/login", map[string]string{"username": "alice", "password": "correct horse"}, nil)
	if res.status != 200 || !strings.Contains(res.header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("login: %d, cookie %q", res.status, res.header.Get("Set-Cookie"))
	}
}

// loginAs posts a login for user with pass from the client address ip
// (Options.ClientIP reads X-Test-IP in these tests).
func loginAs(c *client, user, pass, ip string) response {
	c.t.Helper()
	return c.do("POST", "/api/login", map[string]string{"username": user, "password": pass},
		map[string]string{"X-Test-IP": ip})
}

func testIP(r *http.Request) string { return r.Header.Get("X-Test-IP") }

// The limiter costs the guessing address, not the agent: five wrong tries
// for alice from one address lock that address out for alice, and alice
// logs in from another; a distributed guess is refused at new addresses
// while alice's known address is only slowed; every refusal is counted.
func TestLoginLimitCostsTheAttacker(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.ClientIP = testIP
		o.LoginUserBurst, o.LoginUserEvery = 5, time.Hour
		o.LoginAgentBurst = 12
		o.LoginSlowDelay = 200 * time.Millisecond
		o.LoginIPBurst, o.LoginIPEvery = 12, time.Hour
	}})
	b.addAgent(t, "alice", "correct horse")
	b.addAgent(t, "bob", "battery staple")
	c := b.client(t)

	// alice logs in once from her desk, which makes it a known address.
	if res := loginAs(c, "alice", "correct horse", "192.0.2.10"); res.status != 200 {
		t.Fatalf("first login: %d %s", res.status, res.body)
	}
	for i := range 5 {
		if res := loginAs(c, "alice", "guess", "10.0.0.1"); res.status != 401 {
			t.Fatalf("guess %d: %d", i, res.status)
		}
	}
	res := loginAs(c, "alice", "correct horse", "10.0.0.1")
	if res.status != 429 || res.header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt for alice from the guessing address: %d %q", res.status, res.header.Get("Retry-After"))
	}
	assertJSONError(t, res)
	// The same address may still try another agent, within its own limit.
	if res := loginAs(c, "bob", "battery staple", "10.0.0.1"); res.status != 200 {
		t.Fatalf("bob from the address that guessed alice: %d", res.status)
	}
	// alice, typing her password at an address she never used: not locked.
	if res := loginAs(c, "alice", "correct horse", "192.0.2.20"); res.status != 200 {
		t.Fatalf("alice from another address after five guesses elsewhere: %d %s", res.status, res.body)
	}

	// A guess from many addresses: one try each. alice's bucket for new
	// addresses (12; seven taken above, by her first login, the guesses
	// from 10.0.0.1 and her login from 192.0.2.20) empties…
	for i := range 5 {
		if res := loginAs(c, "alice", "guess", fmt.Sprintf("198.51.100.%d", i)); res.status != 401 {
			t.Fatalf("distributed guess %d: %d", i, res.status)
		}
	}
	// …so a further new address is refused, right password or not…
	if res := loginAs(c, "alice", "correct horse", "198.51.100.99"); res.status != 429 || !strings.Contains(res.body, "new addresses") {
		t.Fatalf("new address while alice is guessed at: %d %s", res.status, res.body)
	}
	// …while her known addresses get in, answered after the delay.
	start := time.Now()
	if res := loginAs(c, "alice", "correct horse", "192.0.2.10"); res.status != 200 {
		t.Fatalf("alice from her desk while guessed at: %d %s", res.status, res.body)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("known address answered after %v, want the 200ms delay", took)
	}
	// Wrong from a known address is slowed the same way, and counted.
	if res := loginAs(c, "alice", "guess", "192.0.2.20"); res.status != 401 {
		t.Fatalf("wrong password from a known address: %d", res.status)
	}

	st := b.core.Stats().Logins
	want := chatcore.LoginStats{OK: 4, Wrong: 11, Slowed: 2, RefusedPair: 1, RefusedAgent: 1}
	if st != want {
		t.Errorf("login stats %+v, want %+v", st, want)
	}

	// Per address: twelve attempts over any names, then 429 for all.
	for i := range 12 {
		if res := loginAs(c, fmt.Sprintf("user%d", i), "guess", "203.0.113.9"); res.status != 401 {
			t.Fatalf("address attempt %d: %d", i, res.status)
		}
	}
	if res := loginAs(c, "bob", "battery staple", "203.0.113.9"); res.status != 429 {
		t.Fatalf("13th attempt from one address: %d", res.status)
	}
	if got := b.core.Stats().Logins.RefusedIP; got != 1 {
		t.Errorf("refused by address: %d, want 1", got)
	}
}

// The limiter keys an agent as the database identifies it. MariaDB
// compares usernames accent- and case-insensitively, so bób would find
// bob: such names are not agents' names and are refused before any lookup,
// with the right password too, and count toward nothing but the address.
func TestLoginNameAsTheDatabaseHasIt(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{dialect: schema.MySQL, mutate: func(o *chatcore.Options) {
		o.ClientIP = testIP
		o.LoginUserBurst, o.LoginUserEvery = 3, time.Hour
	}})
	b.addAgent(t, "bob", "battery staple")
	c := b.client(t)
	for _, name := range []string{"bób", "BÓB", "bøb", "b\u200bob", "bob\u0301"} {
		name, _ = strconv.Unquote(`"` + name + `"`)
		if res := loginAs(c, name, "battery staple", "10.0.0.1"); res.status != 401 {
			t.Errorf("login as %q with bob's password: %d %s", name, res.status, res.body)
		}
	}
	// Spellings that are bob share bob's bucket: three, then 429.
	for i, name := range []string{"bob", "BOB", " Bob "} {
		if res := loginAs(c, name, "guess", "10.0.0.2"); res.status != 401 {
			t.Fatalf("guess %d as %q: %d", i, name, res.status)
		}
	}
	if res := loginAs(c, "bOb", "battery staple", "10.0.0.2"); res.status != 429 {
		t.Fatalf("4th attempt for bob from one address: %d", res.status)
	}
}

// Two instances with a loginstate.Redis share their buckets: a second
// instance gives an attacker no more tries.
func TestLoginLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	rc := redisClient(t, redisAddr())
	if err := rc.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", redisAddr(), err)
	}
	prefix := channel() + ":"
	t.Cleanup(func() { cleanRedis(t, rc, prefix) })
	shared := &bundle{db: chatstoretest.Open(t, schema.SQLite)}
	mk := func(name string) *bundle {
		return setup(t, setupOpts{db: shared.db, mutate: func(o *chatcore.Options) {
			o.Instance = name
			o.ClientIP = testIP
			o.LoginUserBurst, o.LoginUserEvery = 3, time.Hour
			o.LoginState = loginstate.NewRedis(rc, prefix, nil)
		}})
	}
	a, bb := mk("A"), mk("B")
	a.addAgent(t, "carol", "correct horse")
	for i := range 3 {
		inst := []*bundle{a, bb}[i%2]
		if res := loginAs(inst.client(t), "carol", "guess", "10.0.0.7"); res.status != 401 {
			t.Fatalf("guess %d: %d", i, res.status)
		}
	}
	for i, inst := range []*bundle{a, bb} {
		if res := loginAs(inst.client(t), "carol", "guess", "10.0.0.7"); res.status != 429 {
			t.Fatalf("4th guess on instance %d: %d", i, res.status)
		}
	}
	// A success on A, from another address, makes it known on B too.
	if res := loginAs(a.client(t), "carol", "correct horse", "10.0.0.8"); res.status != 200 {
		t.Fatalf("carol from another address: %d", res.status)
	}
	st := loginstate.NewRedis(rc, prefix, nil)
	if ok, err := st.Remembered(context.Background(), "login:known:carol|10.0.0.8/32"); !ok || err != nil {
		t.Fatalf("known address not in redis: %v %v", ok, err)
	}
}

// cleanRedis deletes the keys under prefix, and the limiter's "rate:" ones.
func cleanRedis(t *testing.T, rc *redis.Client, prefix string) {
	ctx := context.Background()
	for _, pat := range []string{prefix + "*", "rate:" + prefix + "*"} {
		keys, err := rc.Keys(ctx, pat).Result()
		if err == nil && len(keys) > 0 {
			rc.Del(ctx, keys...)
		}
	}
}

func TestDisabledAgentAndPasswordChange(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice := b.login(t, "alice")
	bob := b.login(t, "bob")
	aliceWS := alice.dial()
	bobWS := bob.dial()

	if err := b.store.SetAgentDisabled(b.ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if res := alice.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("disabled agent's session: %d", res.status)
	}
	if code := aliceWS.closeCode(5 * time.Second); code != chatcore.CloseNotAuthenticated {
		t.Fatalf("disabled agent's socket closed with %d, want 4001", code)
	}
	res := b.client(t).do("POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}, nil)
	if res.status != 401 {
		t.Fatalf("disabled agent logs in: %d", res.status)
	}
	// Enabling again does not revive the old session.
	if err := b.store.SetAgentDisabled(b.ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if res := alice.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("old session after re-enable: %d", res.status)
	}

	// A password change ends bob's sessions too.
	h, _ := credentials.HashPassword("a brand new password")
	if err := b.store.SetAgentPassword(b.ctx, "bob", h); err != nil {
		t.Fatal(err)
	}
	if res := bob.do("GET", "/api/me", nil, nil); res.status != 401 {
		t.Fatalf("session after password change: %d", res.status)
	}
	if code := bobWS.closeCode(5 * time.Second); code != chatcore.CloseNotAuthenticated {
		t.Fatalf("socket after password change closed with %d", code)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	for _, tc := range []struct {
		name string
		o    chatcore.Options
		want string
	}{
		{"no store", chatcore.Options{SessionSecret: []byte(testSecret)}, "Options.DB"},
		{"short secret", chatcore.Options{DB: b.store, SessionSecret: []byte("short")}, "console.session_secret"},
		{"bad origin", chatcore.Options{DB: b.store, SessionSecret: []byte(testSecret), AllowedOrigins: []string{"example.com"}}, "console.allowed_origins"},
	} {
		if _, err := chatcore.New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}
