package chatcore_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// routes lists every route of the console API and the WebSocket. A route
// added to Handler must be added here.
var routes = []struct {
	method, path string
	body         any
	public       bool // needs no session (login)
	admin        bool // refused to agents who are not admins
}{
	{"POST", "/api/login", map[string]string{"username": "alice", "password": "alice-password"}, true, false},
	{"POST", "/api/logout", nil, false, false},
	{"GET", "/api/me", nil, false, false},
	{"GET", "/api/conversations?tab=all", nil, false, false},
	{"GET", "/api/conversations/k/messages", nil, false, false},
	{"GET", "/api/conversations/k/messages?after_seq=0", nil, false, false},
	{"POST", "/api/conversations/k/replies", map[string]string{"body": "hi", "client_id": "c1"}, false, false},
	{"POST", "/api/conversations/k/notes", map[string]string{"body": "for the team", "client_id": "n1"}, false, false},
	{"POST", "/api/conversations/k/read", map[string]int{"seq": 1}, false, false},
	{"POST", "/api/conversations/k/assign", map[string]any{"assignee": nil}, false, false},
	{"POST", "/api/conversations/k/resolve", nil, false, false},
	{"POST", "/api/conversations/k/reopen", nil, false, false},
	{"GET", "/api/intents", nil, false, false},
	{"GET", "/api/conversations/k/labels", nil, false, false},
	{"POST", "/api/conversations/k/messages/1/label", map[string]string{"intent": "refund"}, false, false},
	{"GET", "/api/bot/retrain", nil, false, true}, // alice is an admin
	{"GET", "/api/agents", nil, false, false},
	{"GET", "/api/admin/agents", nil, false, true},
	{"POST", "/api/admin/agents", map[string]any{"username": "newbie", "password": "a long password"}, false, true},
	{"POST", "/api/admin/agents/nobody/disable", nil, false, true},
	{"POST", "/api/admin/agents/nobody/enable", nil, false, true},
	{"POST", "/api/admin/agents/nobody/password", map[string]string{"password": "a long password"}, false, true},
	{"POST", "/api/admin/agents/nobody/role", map[string]bool{"admin": true}, false, true},
	{"POST", "/api/admin/agents/nobody/nothing", nil, false, true},
	{"POST", "/api/me/away", map[string]bool{"away": false}, false, false},
	{"GET", "/api/admin/sla", nil, false, true},
	{"GET", "/api/admin/ops", nil, false, true},
	{"POST", "/api/admin/ops/requeue", map[string]any{"error_contains": "x"}, false, true},
	{"PUT", "/api/admin/sla", map[string]int64{"first_response_seconds": 0, "reply_seconds": 0}, false, true},
	{"POST", "/api/canned", map[string]any{"shortcut": "hi", "title": "Hello", "texts": map[string]string{"en": "Hello {{.customer_name}}"}}, false, true},
	{"GET", "/api/canned", nil, false, false},
	{"GET", "/api/conversations/k/canned/1?lang=en", nil, false, false},
	{"PUT", "/api/canned/1", map[string]any{"shortcut": "hi", "title": "Hi", "texts": map[string]string{"en": "Hi"}}, false, true},
	{"DELETE", "/api/canned/1", nil, false, true},
	{"GET", "/api/nowhere", nil, false, false},
	{"GET", "/ws", nil, false, false},
}

func stateChanging(method string) bool { return method != "GET" }

func TestEveryRouteNeedsSessionAndOrigin(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.AllowedOrigins = []string{"https://console.example.com"}
	}})
	alice := b.login(t, "alice")
	admin := func(name string) {
		if err := b.store.SetAgentAdmin(b.ctx, name, true); err != nil {
			t.Fatal(err)
		}
	}
	admin("alice")
	bob := b.login(t, "bob") // an agent, not an admin
	chatstoretest.Relay(t, b.db, "k", "hello")
	anon := b.client(t)

	// A cookie signed with another secret, and one whose payload was edited.
	forged := b.client(t)
	forgedCookie := "syncd_session=eyJ1IjoiYWxpY2UiLCJ2IjoxLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0.AAAA"
	good := strings.TrimPrefix(alice.cookieHeader(), "syncd_session=")
	payload, sig, _ := strings.Cut(good, ".")
	edited := "syncd_session=" + payload[:len(payload)-2] + "AA." + sig

	foreign := map[string]string{"Origin": "https://evil.example"}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site"}
	// The server's own host and port, but https: another origin.
	otherScheme := map[string]string{"Origin": strings.Replace(b.srv.URL, "http://", "https://", 1)}
	// A page whose name was rebound to this server: its own origin, and
	// its name in the Host header.
	rebound := map[string]string{"Host": "evil.example", "Origin": "http://evil.example"}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			check := func(who string, c *client, hdr map[string]string, want ...int) {
				t.Helper()
				res := c.do(r.method, r.path, r.body, hdr)
				for _, w := range want {
					if res.status == w {
						assertJSONError(t, res)
						return
					}
				}
				t.Errorf("%s: status %d %s, want %v", who, res.status, res.body, want)
			}
			if !r.public {
				check("no session", anon, nil, 401)
				check("forged cookie", forged, map[string]string{"Cookie": forgedCookie}, 401)
				check("edited cookie", forged, map[string]string{"Cookie": edited}, 401)
			}
			check("rebound host name", anon, rebound, 403)
			check("session, rebound host name", alice, rebound, 403)
			if stateChanging(r.method) || r.path == "/ws" {
				check("session, foreign origin", alice, foreign, 403)
				check("session, cross-site fetch", alice, crossSite, 403)
				check("session, same host and port over https", alice, otherScheme, 403)
				check("no session, foreign origin", anon, foreign, 401, 403)
			}
			if r.path == "/ws" {
				return
			}
			// The same request from an allowed origin gets through.
			res := alice.do(r.method, r.path, r.body, map[string]string{"Origin": "https://console.example.com"})
			if res.status == 401 || res.status == 403 {
				t.Errorf("allowed origin: %d %s", res.status, res.body)
			}
			if r.admin {
				res := bob.do(r.method, r.path, r.body, nil)
				if res.status != http.StatusForbidden {
					t.Errorf("agent who is not an admin: %d %s, want 403", res.status, res.body)
				}
				assertJSONError(t, res)
			}
			if r.path == "/api/logout" {
				alice = b.login(t, "alice2") // logged out; carry on as another agent
				admin("alice2")
			}
		})
	}

	// The WebSocket: a foreign page cannot open it even with the cookie,
	// and a handshake without a session is closed with 4001.
	hdr := http.Header{"Cookie": {alice.cookieHeader()}, "Origin": {"https://evil.example"}}
	if _, res, err := websocket.DefaultDialer.Dial(b.wsURL(), hdr); err == nil || res == nil || res.StatusCode != 403 {
		t.Fatalf("ws from a foreign origin: %v %v", err, res)
	}
	ws, _, err := websocket.DefaultDialer.Dial(b.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newWSClient(t, ws)
	if code := w.closeCode(5 * time.Second); code != chatcore.CloseNotAuthenticated {
		t.Fatalf("ws without session closed with %d, want 4001", code)
	}
	hdr = http.Header{"Cookie": {alice.cookieHeader()}, "Origin": {strings.Replace(b.srv.URL, "127.0.0.1", "127.0.0.1", 1)}}
	ws2, _, err := websocket.DefaultDialer.Dial(b.wsURL(), hdr)
	if err != nil {
		t.Fatalf("ws from the server's own origin: %v", err)
	}
	ws2.Close()

	// The console's files are served at /, without a session, and their
	// policy lets the page open sockets to this server only.
	res := anon.do("GET", "/", nil, nil)
	if res.status != 200 || !strings.Contains(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", res.status, res.header.Get("Content-Type"))
	}
	own := "ws" + strings.TrimPrefix(b.srv.URL, "http")
	if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' "+own+";") {
		t.Errorf("CSP %q: connect-src is not 'self' and %s alone", csp, own)
	}
	if res := anon.do("GET", "/", nil, rebound); res.status != 403 {
		t.Errorf("GET / with a rebound host name: %d", res.status)
	}
	// A body over the limit is refused on every route, before any handler.
	for _, path := range []string{"/api/login", "/", "/ws", "/api/nowhere"} {
		big := strings.Repeat("x", 1<<20+1)
		if res := anon.do("POST", path, big, nil); res.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with a 1 MiB + 1 body: %d", path, res.status)
		}
	}
}

// Behind a TLS proxy named in TrustedProxies: the public origin is
// allowed, the cookie is Secure, the forwarded client is the one limited.
func TestBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) {
		o.PublicURL = "https://support.example.com"
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		o.LoginUserBurst, o.LoginUserEvery = 2, time.Hour
	}})
	b.addAgent(t, "alice", "correct horse")
	c := b.client(t)
	via := func(client string) map[string]string {
		return map[string]string{"Host": "support.example.com", "Origin": "https://support.example.com",
			"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.50, " + client}
	}
	for range 2 {
		if res := c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "guess"}, via("198.51.100.1")); res.status != 401 {
			t.Fatalf("guess through the proxy: %d %s", res.status, res.body)
		}
	}
	if res := c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "guess"}, via("198.51.100.1")); res.status != 429 {
		t.Fatalf("3rd guess from one client behind the proxy: %d", res.status)
	}
	// Another client behind the same proxy has a bucket of its own.
	res := c.do("POST", "/api/login", map[string]string{"username": "alice", "password": "correct horse"}, via("198.51.100.2"))
	if res.status != 200 {
		t.Fatalf("another client behind the proxy: %d %s", res.status, res.body)
	}
	if ck := res.header.Get("Set-Cookie"); !strings.Contains(ck, "Secure") {
		t.Errorf("cookie through a TLS proxy is not Secure: %q", ck)
	}
	if csp := anonCSP(t, b, via("198.51.100.3")); !strings.Contains(csp, "connect-src 'self' wss://support.example.com;") {
		t.Errorf("CSP through the proxy: %q", csp)
	}
	// Without the proxy, X-Forwarded-* from anyone is not believed: a
	// client cannot pick its own bucket (the test's peer is trusted, so
	// this runs on a Core without TrustedProxies).
	plain := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.LoginUserBurst, o.LoginUserEvery = 1, time.Hour }})
	plain.addAgent(t, "alice", "correct horse")
	pc := plain.client(t)
	pc.do("POST", "/api/login", map[string]string{"username": "alice", "password": "guess"}, map[string]string{"X-Forwarded-For": "198.51.100.1"})
	if res := pc.do("POST", "/api/login", map[string]string{"username": "alice", "password": "guess"}, map[string]string{"X-Forwarded-For": "198.51.100.2"}); res.status != 429 {
		t.Fatalf("a spoofed X-Forwarded-For chose a new bucket: %d", res.status)
	}
	if res := pc.do("POST", "/api/login", map[string]string{"username": "alice", "password": "correct horse"},
		map[string]string{"Origin": "https://support.example.com"}); res.status != 403 {
		t.Fatalf("https origin on a plain server without public_url: %d", res.status)
	}
}

func anonCSP(t *testing.T, b *bundle, hdr map[string]string) string {
	t.Helper()
	return b.client(t).do("GET", "/", nil, hdr).header.Get("Content-Security-Policy")
}

// One agent may hold MaxSocketsPerAgent sockets on an instance; one more
// is closed with 4029, and another agent is not affected.
func TestSocketsPerAgent(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.MaxSocketsPerAgent = 2 }})
	alice := b.login(t, "alice")
	alice.dial()
	alice.dial()
	ws, _, err := websocket.DefaultDialer.Dial(b.wsURL(), http.Header{"Cookie": {alice.cookieHeader()}})
	if err != nil {
		t.Fatal(err)
	}
	w := newWSClient(t, ws)
	if code := w.closeCode(5 * time.Second); code != chatcore.CloseTooManySockets {
		t.Fatalf("3rd socket closed with %d, want 4029", code)
	}
	b.login(t, "bob").dial()
}

func assertJSONError(t *testing.T, res response) {
	t.Helper()
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q for %d", ct, res.status)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(res.body), &e); err != nil || e.Error == "" {
		t.Errorf("error body %q is not {\"error\": ...}", res.body)
	}
}
