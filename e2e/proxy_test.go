package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// failoverProxy stands in for a load balancer in front of several syncd
// instances, so that the page keeps one URL. It sends everything, WebSocket
// upgrades included, to the current target, and moves on to the next target
// when the current one refuses connections (it died).
type failoverProxy struct {
	targets []*url.URL
	cur     atomic.Int32
	held    atomic.Bool
	srv     *http.Server
	l       net.Listener

	mu       sync.Mutex
	switches []string
}

// newFailoverProxy listens at once (so its origin is known) and serves
// after start.
func newFailoverProxy(t *testing.T) *failoverProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &failoverProxy{l: l}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(p.targets[p.cur.Load()])
			pr.Out.Host = pr.In.Host // the page's origin stays the server's own
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				p.failover(r.URL.Host)
			}
			http.Error(w, "upstream unavailable: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.held.Load() {
			http.Error(w, "proxy on hold", http.StatusServiceUnavailable)
			return
		}
		// Check that the current target still accepts connections, so
		// that the first request after its death already goes elsewhere.
		if c, err := net.DialTimeout("tcp", p.current(), time.Second); err != nil {
			p.failover(p.current())
		} else {
			c.Close()
		}
		rp.ServeHTTP(w, r)
	})}
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *failoverProxy) URL() string { return "http://" + p.l.Addr().String() }

func (p *failoverProxy) start(targets ...string) {
	for _, s := range targets {
		u, _ := url.Parse(s)
		p.targets = append(p.targets, u)
	}
	go p.srv.Serve(p.l)
}

// failover moves to the next target if host is still the current one.
func (p *failoverProxy) failover(host string) {
	i := p.cur.Load()
	if p.targets[i].Host != host || int(i)+1 >= len(p.targets) {
		return
	}
	if p.cur.CompareAndSwap(i, i+1) {
		p.mu.Lock()
		p.switches = append(p.switches, host+" -> "+p.targets[i+1].Host)
		p.mu.Unlock()
	}
}

func (p *failoverProxy) current() string { return p.targets[p.cur.Load()].Host }

// hold makes the proxy answer 503 to everything until release, so that a
// test can keep the page disconnected while it changes the world.
func (p *failoverProxy) hold()    { p.held.Store(true) }
func (p *failoverProxy) release() { p.held.Store(false) }
