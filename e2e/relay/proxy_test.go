package relay

import (
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// proxy is a TCP proxy in the test process (toxiproxy as a library) that a
// test can cut and restore.
type proxy struct {
	t *testing.T
	p *toxiproxy.Proxy
}

// newProxy listens on a free 127.0.0.1 port and forwards to upstream.
func newProxy(t *testing.T, name, upstream string) *proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start %s proxy: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return &proxy{t: t, p: p}
}

// Addr is where the proxy listens; it keeps its port across cut and
// restore.
func (p *proxy) Addr() string { return p.p.Listen }

// Cut closes every connection through the proxy and refuses new ones.
func (p *proxy) Cut() { p.p.Stop() }

// Restore accepts connections again on the same port.
func (p *proxy) Restore() {
	p.t.Helper()
	if err := p.p.Start(); err != nil {
		p.t.Fatalf("restore %s proxy on %s: %v", p.p.Name, p.p.Listen, err)
	}
}
