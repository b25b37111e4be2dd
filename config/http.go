package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// The http.* and console.* keys of the front door: listeners, limits,
// and what a reverse proxy in front of the console changes.

func (h HTTP) validate() error {
	bad := func(key, format string, args ...any) error {
		return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if h.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(h.AdminAddr); err != nil {
			return bad("http.admin_addr", "want host:port, got %q", h.AdminAddr)
		}
		if h.AdminAddr == h.Addr {
			return bad("http.admin_addr", "must differ from http.addr (%s)", h.Addr)
		}
	}
	if t := h.MetricsToken; t != "" && (len(t) < 16 || strings.ContainsAny(t, " \t\r\n")) {
		return bad("http.metrics_token", "must be at least 16 characters without spaces (e.g. `openssl rand -hex 16`)")
	}
	if h.MaxConns < 0 {
		return bad("http.max_conns", "must not be negative (0: sized by the open-files limit)")
	}
	if h.MaxConnsPerClient < 1 {
		return bad("http.max_conns_per_client", "must be at least 1")
	}
	for key, d := range map[string]time.Duration{"http.read_timeout": h.ReadTimeout,
		"http.write_timeout": h.WriteTimeout, "http.idle_timeout": h.IdleTimeout} {
		if d < 100*time.Millisecond {
			return bad(key, "must be at least 100ms, got %s", d)
		}
	}
	return nil
}

func (c Console) validate() error {
	bad := func(key, format string, args ...any) error {
		return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("console.public_url", "want the address agents open, like https://support.example.com, got %q", c.PublicURL)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return bad("console.public_url", "the console is served at the root of its host: no path, query or user in %q", c.PublicURL)
		}
	}
	for _, h := range c.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			return bad("console.allowed_hosts", "want host names such as support.example.com (no scheme or port), got %q", h)
		}
	}
	if _, err := c.Proxies(); err != nil {
		return err
	}
	return nil
}

// Proxies parses console.trusted_proxies: addresses (10.0.0.5) or networks
// (10.0.0.0/8).
func (c Console) Proxies() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, &KeyError{Key: "console.trusted_proxies", Msg: fmt.Sprintf("want an address or a network such as 10.0.0.0/8, got %q", s)}
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Secure reports whether the session cookie is marked Secure on every
// response: console.secure_cookie, or by default whether
// console.public_url is https.
func (c Console) Secure() bool {
	if c.SecureCookie != nil {
		return *c.SecureCookie
	}
	return strings.HasPrefix(strings.ToLower(c.PublicURL), "https://")
}
