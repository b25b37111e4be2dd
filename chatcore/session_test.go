package chatcore

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	c := &Core{o: Options{AllowedOrigins: []string{"https://console.example.com"}},
		publicOrigin: "https://support.example.com", proxies: proxies{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		origin, fetchSite, host string
		proto                   string // X-Forwarded-Proto, from the proxy 10.0.0.1
		want                    bool
	}{
		{"", "", "syncd:8080", "", true}, // not a browser page
		{"", "same-origin", "syncd:8080", "", true},
		{"", "none", "syncd:8080", "", true},
		{"", "cross-site", "syncd:8080", "", false},
		{"", "same-site", "syncd:8080", "", false},
		{"http://syncd:8080", "", "syncd:8080", "", true},
		{"http://SYNCD:8080", "", "syncd:8080", "", true},
		{"http://syncd:8081", "", "syncd:8080", "", false},
		{"http://syncd", "", "syncd:80", "", true},
		// The scheme counts: an https page is another origin than this
		// plain-HTTP server, unless a trusted proxy says it took TLS.
		{"https://syncd:8080", "", "syncd:8080", "", false},
		{"https://syncd", "", "syncd", "https", true},
		{"http://syncd", "", "syncd", "https", false},
		{"https://support.example.com", "", "127.0.0.1:8080", "", true},
		{"https://support.example.com:443", "", "127.0.0.1:8080", "", true},
		{"https://support.example.com:8443", "", "127.0.0.1:8080", "", false},
		{"http://support.example.com", "", "127.0.0.1:8080", "", false},
		{"https://console.example.com", "", "syncd:8080", "", true},
		{"https://Console.Example.com", "", "syncd:8080", "", true},
		{"http://console.example.com", "", "syncd:8080", "", false},
		{"https://evil.example", "", "syncd:8080", "", false},
		{"ws://syncd:8080", "", "syncd:8080", "", false},
		{"null", "", "syncd:8080", "", false},
	} {
		r := httptest.NewRequest("POST", "http://"+tc.host+"/api/x", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", tc.fetchSite)
		}
		if tc.proto != "" {
			r.RemoteAddr = "10.0.0.1:5000"
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if got := c.originAllowed(r); got != tc.want {
			t.Errorf("origin %q fetch-site %q host %q proto %q: %v, want %v", tc.origin, tc.fetchSite, tc.host, tc.proto, got, tc.want)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	c := &Core{hosts: []string{"support.example.com"}}
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "LOCALHOST": true, "[::1]:8080": true,
		"10.1.2.3": true, "support.example.com": true, "Support.Example.COM.:443": true,
		"evil.example:8080": false, "localhost.evil.example": false, "": false, "support.example.com.evil": false,
	} {
		if got := c.hostAllowed(host); got != want {
			t.Errorf("Host %q: %v, want %v", host, got, want)
		}
	}
}

func TestClientIP(t *testing.T) {
	p := proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::1/128")}
	for _, tc := range []struct {
		peer string
		hdr  map[string]string
		want string
	}{
		{"192.0.2.1:5000", nil, "192.0.2.1"},
		// Not from a trusted proxy: the headers are anyone's to send.
		{"192.0.2.1:5000", map[string]string{"X-Forwarded-For": "198.51.100.7"}, "192.0.2.1"},
		{"10.0.0.1:5000", map[string]string{"X-Forwarded-For": "198.51.100.7"}, "198.51.100.7"},
		// The left part is the client's to write: the right-most untrusted
		// address counts.
		{"10.0.0.1:5000", map[string]string{"X-Forwarded-For": "1.2.3.4, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"10.0.0.1:5000", map[string]string{"X-Forwarded-For": "garbage, 198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.1:5000", map[string]string{"X-Forwarded-For": "198.51.100.7, garbage"}, "10.0.0.1"},
		{"10.0.0.1:5000", map[string]string{"X-Forwarded-For": "10.0.0.3"}, "10.0.0.3"},
		{"10.0.0.1:5000", nil, "10.0.0.1"},
		{"10.0.0.1:5000", map[string]string{"Forwarded": `for=1.2.3.4, for="[2001:db8::7]:4711";proto=https`}, "2001:db8::7"},
		{"10.0.0.1:5000", map[string]string{"Forwarded": "for=198.51.100.9", "X-Forwarded-For": "1.2.3.4"}, "198.51.100.9"},
		{"[2001:db8::1]:5000", map[string]string{"X-Forwarded-For": "198.51.100.7"}, "198.51.100.7"},
		{"[::ffff:10.0.0.1]:5000", map[string]string{"X-Forwarded-For": "198.51.100.7"}, "198.51.100.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := p.clientIP(r); got != tc.want {
			t.Errorf("peer %s %v: %s, want %s", tc.peer, tc.hdr, got, tc.want)
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
