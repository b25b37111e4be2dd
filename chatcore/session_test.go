package chatcore

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSessionCodec(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sc := newSessionCodec([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	s := sc.issue(Agent{Username: "alice", SessionVersion: 3}, now)
	v, err := sc.encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sc.decode(v, now.Add(59*time.Minute))
	if err != nil || got != s {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	other := newSessionCodec([]byte("another secret, just as long as it must be"), time.Hour)
	payload, sig, _ := strings.Cut(v, ".")
	forged, _ := other.encode(s)
	for _, tc := range []struct {
		name, value string
		at          time.Time
	}{
		{"expired", v, now.Add(time.Hour)},
		{"other secret", forged, now},
		{"no signature", payload, now},
		{"empty", "", now},
		{"bad signature", payload + "." + sig[:len(sig)-2] + "xx", now},
		{"changed payload", b64.EncodeToString([]byte(`{"u":"root","v":3,"iat":1,"exp":9999999999}`)) + "." + sig, now},
		{"not base64", "%%%." + sig, now},
		{"huge", strings.Repeat("a", 2000) + "." + sig, now},
	} {
		if _, err := sc.decode(tc.value, tc.at); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	if c := sc.cookie(r, v, s.expiresAt(), false); !c.HttpOnly || c.Secure || c.Path != "/" || c.Name != SessionCookie {
		t.Errorf("cookie = %+v", c)
	}
	r = httptest.NewRequest("GET", "https://x/", nil)
	if c := sc.cookie(r, v, s.expiresAt(), false); !c.Secure {
		t.Errorf("cookie over TLS is not Secure")
	}
}

func TestOriginAllowed(t *testing.T) {
	allowed := []string{"https://console.example.com"}
	for _, tc := range []struct {
		origin, fetchSite, host string
		want                    bool
	}{
		{"", "", "syncd:8080", true}, // not a browser page
		{"", "same-origin", "syncd:8080", true},
		{"", "none", "syncd:8080", true},
		{"", "cross-site", "syncd:8080", false},
		{"", "same-site", "syncd:8080", false},
		{"http://syncd:8080", "", "syncd:8080", true},
		{"http://SYNCD:8080", "", "syncd:8080", true},
		{"http://syncd:8081", "", "syncd:8080", false},
		{"https://console.example.com", "", "syncd:8080", true},
		{"https://Console.Example.com", "", "syncd:8080", true},
		{"http://console.example.com", "", "syncd:8080", false},
		{"https://evil.example", "", "syncd:8080", false},
		{"null", "", "syncd:8080", false},
	} {
		r := httptest.NewRequest("POST", "http://"+tc.host+"/api/x", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", tc.fetchSite)
		}
		if got := originAllowed(r, allowed); got != tc.want {
			t.Errorf("origin %q fetch-site %q: %v, want %v", tc.origin, tc.fetchSite, got, tc.want)
		}
	}
}

func TestSendQueue(t *testing.T) {
	f := func(n int) *frame { return &frame{size: n} }
	q := sendQueue{limit: 100}
	if !q.push(f(40), f(40)) {
		t.Fatal("80 of 100 refused")
	}
	fs, closing, _, _ := q.take(nil)
	if len(fs) != 2 || closing {
		t.Fatalf("take = %d frames, closing %v", len(fs), closing)
	}
	// Taken but not yet written still counts: 80 + 30 > 100.
	if q.push(f(30)) {
		t.Fatal("a backlog of 110 bytes accepted")
	}
	if _, closing, code, _ := q.take(nil); !closing || code != CloseTooSlow {
		t.Fatalf("after overflow: closing %v code %d", closing, code)
	}
	if !q.push(f(1)) { // dropped quietly once closing
		t.Fatal("push to a closing queue reported overflow again")
	}
	if q.close(1001, "bye") {
		t.Fatal("close of a closing queue reported true")
	}

	q = sendQueue{limit: 100}
	q.push(f(60))
	fs, _, _, _ = q.take(nil)
	q.written(fs[0])
	if !q.push(f(90)) {
		t.Fatal("written bytes still counted")
	}
}

func TestValidateUsername(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"a.b-c_d9", true}, {"9lives", true},
		{"", false}, {"Alice", false}, {".alice", false}, {"al ice", false}, {"alice@x", false},
		{strings.Repeat("a", 64), true}, {strings.Repeat("a", 65), false},
	} {
		if err := ValidateUsername(tc.name); (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.name, err)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("short password hashed")
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("73-byte password hashed")
	}
}

func TestLimiterSet(t *testing.T) {
	now := time.Unix(0, 0)
	s := newLimiterSet(2, time.Minute, 2)
	for i, want := range []bool{true, true, false} {
		if ok, _ := s.allow("a", now); ok != want {
			t.Fatalf("attempt %d: %v", i, ok)
		}
	}
	if ok, wait := s.allow("a", now); ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("limited: ok %v wait %v", ok, wait)
	}
	if ok, _ := s.allow("a", now.Add(time.Minute)); !ok {
		t.Fatal("no token after the interval")
	}
	if ok, _ := s.allow("b", now); !ok {
		t.Fatal("another key limited")
	}
}
