package chatcore_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
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

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-IP") }
		o.LoginUserBurst, o.LoginUserEvery = 3, time.Hour
		o.LoginIPBurst, o.LoginIPEvery = 6, time.Hour
	}})
	b.addAgent(t, "alice", "correct horse")
	for i := range 6 {
		b.addAgent(t, fmt.Sprintf("user%d", i), "not a guess") // cheap hashes: known users
	}
	c := b.client(t)
	try := func(user, pass, ip string) response {
		return c.do("POST", "/api/login", map[string]string{"username": user, "password": pass},
			map[string]string{"X-Test-IP": ip})
	}
	// Per username: three guesses from anywhere, then 429 even with the
	// right password.
	for i := range 3 {
		if res := try("alice", "guess", fmt.Sprintf("10.0.0.%d", i)); res.status != 401 {
			t.Fatalf("guess %d: %d", i, res.status)
		}
	}
	res := try("alice", "correct horse", "10.0.0.9")
	if res.status != 429 || res.header.Get("Retry-After") == "" {
		t.Fatalf("4th attempt for alice: %d %q", res.status, res.header.Get("Retry-After"))
	}
	assertJSONError(t, res)
	// Per IP: six attempts over many usernames, then 429.
	for i := range 6 {
		if res := try(fmt.Sprintf("user%d", i), "guess", "10.9.9.9"); res.status != 401 {
			t.Fatalf("ip attempt %d: %d", i, res.status)
		}
	}
	if res := try("someone", "guess", "10.9.9.9"); res.status != 429 {
		t.Fatalf("7th attempt from one IP: %d", res.status)
	}
	// Another IP and another user are not affected.
	if res := try("bob", "guess", "10.1.1.1"); res.status != 401 {
		t.Fatalf("unrelated attempt: %d", res.status)
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
	h, _ := chatcore.HashPassword("a brand new password")
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
		{"no store", chatcore.Options{SessionSecret: []byte(testSecret)}, "Store"},
		{"short secret", chatcore.Options{Store: b.store, SessionSecret: []byte("short")}, "console.session_secret"},
		{"bad origin", chatcore.Options{Store: b.store, SessionSecret: []byte(testSecret), AllowedOrigins: []string{"example.com"}}, "console.allowed_origins"},
	} {
		if _, err := chatcore.New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}
