package connlimit

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// accepted runs Accept in the background and hands over what it accepts.
func accepted(t *testing.T, l *Listener) <-chan net.Conn {
	ch := make(chan net.Conn, 16)
	go func() {
		defer close(ch)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	return ch
}

func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func take(t *testing.T, ch <-chan net.Conn, what string) net.Conn {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(2 * time.Second):
		t.Fatalf("%s: not accepted", what)
		return nil
	}
}

func TestPerClientAndTotal(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedFor := make(chan netip.Prefix, 4)
	l := Wrap(raw, Options{Max: 3, PerClient: 2,
		Exempt:   func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.9") },
		OnRefuse: func(p netip.Prefix) { refusedFor <- p }})
	defer l.Close()
	ch := accepted(t, l)
	addr := raw.Addr().String()

	dialFrom(t, "127.0.0.2", addr)
	take(t, ch, "first from .2")
	dialFrom(t, "127.0.0.2", addr)
	take(t, ch, "second from .2")
	// A third from the same client is answered 503 and closed.
	over := dialFrom(t, "127.0.0.2", addr)
	_ = over.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(over).ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 503") {
		t.Fatalf("over the client's cap: %q", line)
	}
	if p := <-refusedFor; p.String() != "127.0.0.2/32" {
		t.Fatalf("refused for %v", p)
	}
	if s := l.Stats(); s.Refused != 1 || s.Open != 2 {
		t.Fatalf("stats %+v", s)
	}
	// The total: one slot left; the exempt address uses it, and the next
	// connection waits until one closes.
	dialFrom(t, "127.0.0.9", addr)
	ex := take(t, ch, "exempt")
	dialFrom(t, "127.0.0.9", addr)
	select {
	case <-ch:
		t.Fatal("accepted past the total cap")
	case <-time.After(200 * time.Millisecond):
	}
	if nc := ex.(interface{ NetConn() net.Conn }).NetConn(); nc == nil {
		t.Fatal("no NetConn")
	}
	ex.Close()
	ex.Close() // twice gives back one slot
	take(t, ch, "after a slot was freed")
	if s := l.Stats(); s.Open != 3 {
		t.Fatalf("open %d, want 3", s.Open)
	}
	// Close stops an Accept waiting for a slot.
	l.Close()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("accepted after Close")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}

func TestClientPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1": "192.0.2.1/32", "::ffff:192.0.2.1": "192.0.2.1/32",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
	} {
		if got := ClientPrefix(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
