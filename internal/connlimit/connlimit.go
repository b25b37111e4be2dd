// Package connlimit caps the connections a listener hands to its server:
// in all, so that a flood cannot use up the process's file descriptors,
// and per client, so that one client cannot take all of them. syncd's HTTP
// listeners sit behind it; it also reads the descriptor limit the caps are
// sized by.
//
// golang.org/x/net/netutil.LimitListener does the first half, but its
// connections hide the *net.TCPConn the console needs for SO_SNDBUF;
// these expose it through NetConn, as crypto/tls does.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Listener; zero means no limit.
type Options struct {
	// Max is how many connections may be open at once. At the cap, Accept
	// waits for one to close: the kernel's backlog holds new clients, and
	// no descriptor is spent on them.
	Max int
	// PerClient is how many connections one client (an IPv4 address, or
	// an IPv6 /64, which one host usually holds whole) may have open. A
	// client over it gets a 503 and its new connection is closed at once.
	PerClient int
	// Exempt reports addresses that are not one client but many, such as
	// a trusted reverse proxy: they count only toward Max.
	Exempt func(netip.Addr) bool
	// OnRefuse, if set, is called (in Accept) for each connection refused
	// by PerClient.
	OnRefuse func(client netip.Prefix)
}

// Listener is a net.Listener with Options' caps.
type Listener struct {
	net.Listener
	o    Options
	sem  chan struct{} // one token per open connection; nil without Max
	done chan struct{} // closed by Close, to stop a waiting Accept
	once sync.Once

	mu       sync.Mutex
	byClient map[netip.Prefix]int

	open    atomic.Int64
	refused atomic.Int64
}

// Wrap returns l with the caps of o.
func Wrap(l net.Listener, o Options) *Listener {
	ln := &Listener{Listener: l, o: o, done: make(chan struct{}), byClient: map[netip.Prefix]int{}}
	if o.Max > 0 {
		ln.sem = make(chan struct{}, o.Max)
	}
	return ln
}

// Stats are the listener's counters.
type Stats struct {
	Open    int64 // connections open now
	Refused int64 // connections closed at once for their client's cap
}

func (l *Listener) Stats() Stats {
	return Stats{Open: l.open.Load(), Refused: l.refused.Load()}
}

// refusal is what a client over its cap reads before the connection closes.
const refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 10\r\nConnection: close\r\nContent-Length: 40\r\n\r\ntoo many connections from your address\r\n"

// Accept waits for a free slot, then for a connection whose client is under
// its cap.
func (l *Listener) Accept() (net.Conn, error) {
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			l.release()
			return nil, err
		}
		key, counted := l.client(c.RemoteAddr())
		if counted && !l.take(key) {
			l.refused.Add(1)
			if l.o.OnRefuse != nil {
				l.o.OnRefuse(key)
			}
			// A new socket's send buffer is empty: this write does not wait.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write([]byte(refusal))
			_ = c.Close()
			continue
		}
		l.open.Add(1)
		return &conn{Conn: c, l: l, key: key, counted: counted}, nil
	}
}

// Close stops the listener, and any Accept waiting for a slot.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

func (l *Listener) release() {
	if l.sem != nil {
		<-l.sem
	}
}

// client returns the client's key, and whether PerClient applies to it.
func (l *Listener) client(a net.Addr) (netip.Prefix, bool) {
	if l.o.PerClient <= 0 {
		return netip.Prefix{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}, false // not TCP/IP: nothing to key on
	}
	addr := ap.Addr().Unmap()
	if l.o.Exempt != nil && l.o.Exempt(addr) {
		return netip.Prefix{}, false
	}
	return ClientPrefix(addr), true
}

// ClientPrefix is the unit one client is counted by: an IPv4 address, or
// the /64 of an IPv6 address.
func ClientPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

func (l *Listener) take(key netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byClient[key] >= l.o.PerClient {
		return false
	}
	l.byClient[key]++
	return true
}

func (l *Listener) put(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.byClient[key] - 1; n > 0 {
		l.byClient[key] = n
	} else {
		delete(l.byClient, key)
	}
}

// conn gives its slots back once, when it is closed.
type conn struct {
	net.Conn
	l       *Listener
	key     netip.Prefix
	counted bool
	once    sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.counted {
			c.l.put(c.key)
		}
		c.l.open.Add(-1)
		c.l.release()
	})
	return err
}

// NetConn returns the connection the listener accepted.
func (c *conn) NetConn() net.Conn { return c.Conn }
