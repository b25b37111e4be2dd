package chatcore

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// originAllowed decides whether a request may change state or open the
// WebSocket. A browser names the page's origin in the Origin header (and on
// modern browsers says same-origin in Sec-Fetch-Site); a request from a
// foreign page is refused. A request with neither header does not come from
// a browser page, so no other site can have made it on an agent's behalf;
// it still needs a session like any other.
//
// An origin is a scheme, a host and a port, and all three must match: the
// server's own (the scheme the client used and the Host it asked for),
// Options.PublicURL's, or one of Options.AllowedOrigins.
func (c *Core) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
			return true
		default:
			return false
		}
	}
	o, ok := canonicalOrigin(origin)
	if !ok {
		return false // includes "null" (sandboxed frames, file://)
	}
	scheme := "http"
	if c.proxies.secure(r) {
		scheme = "https"
	}
	if own, ok := canonicalOrigin(scheme + "://" + r.Host); ok && o == own {
		return true
	}
	return o == c.publicOrigin || slices.Contains(c.o.AllowedOrigins, o)
}

// canonicalOrigin returns "scheme://host[:port]" in lower case, without the
// scheme's default port, or false for anything that is not an http(s)
// origin.
func canonicalOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	var def string
	switch scheme {
	case "http":
		def = "80"
	case "https":
		def = "443"
	default:
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || port == def {
		return scheme + "://" + host, true
	}
	return scheme + "://" + host + ":" + port, true
}

// hostAllowed reports whether the Host header names this server. A page
// on evil.example whose name the attacker rebinds to this server's address
// reaches it with Host: evil.example, which is refused. IP addresses and
// localhost cannot be rebound, and are always accepted; names are accepted
// when configured (Options.AllowedHosts, PublicURL's host, the hosts of
// AllowedOrigins).
func (c *Core) hostAllowed(host string) bool {
	name := hostName(host)
	if name == "" {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	return name == "localhost" || slices.Contains(c.hosts, name)
}

// hostName is the lower-case name of a Host header, without its port, its
// IPv6 brackets or a trailing dot.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	return strings.ToLower(host)
}

// CheckHost is checkHost for handlers mounted beside Handler on the same
// listener (the HTTP ingest API), so that they refuse the same Hosts.
func (c *Core) CheckHost(next http.Handler) http.Handler { return c.checkHost(next) }

// checkHost answers 403 to a request whose Host is not this server's.
func (c *Core) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.hostAllowed(r.Host) {
			w.Header().Set("Cache-Control", "no-store")
			writeError(w, http.StatusForbidden, "host not allowed: add it to console.allowed_hosts or set console.public_url")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originsAndHosts returns PublicURL's origin and the host names accepted
// in the Host header: AllowedHosts and the hosts of PublicURL and
// AllowedOrigins (an operator who allowed https://support.example.com
// before public_url existed meant this server).
func originsAndHosts(o Options) (public string, hosts []string) {
	add := func(h string) {
		if h = hostName(h); h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	if o.PublicURL != "" {
		public, _ = canonicalOrigin(strings.TrimSuffix(o.PublicURL, "/"))
		if u, err := url.Parse(public); err == nil {
			add(u.Host)
		}
	}
	for _, s := range o.AllowedOrigins {
		if u, err := url.Parse(s); err == nil {
			add(u.Host)
		}
	}
	for _, h := range o.AllowedHosts {
		add(h)
	}
	return public, hosts
}
