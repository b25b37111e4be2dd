package chatcore

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// proxies knows the reverse proxies whose forwarding headers are believed
// (Options.TrustedProxies). Without any, the peer is the client and
// X-Forwarded-For, Forwarded and X-Forwarded-Proto are ignored: anyone can
// send them.
type proxies []netip.Prefix

func (p proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	return slices.ContainsFunc(p, func(n netip.Prefix) bool { return n.Contains(a) })
}

// peer is the address the request's connection came from.
func peer(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// viaProxy reports whether the request came from a trusted proxy.
func (p proxies) viaProxy(r *http.Request) bool {
	a, ok := peer(r)
	return ok && len(p) > 0 && p.trusted(a)
}

// clientIP is the address a request is attributed to: the peer, or for a
// request from a trusted proxy the right-most address of its forwarding
// chain that is not a trusted proxy (the left part of the chain is
// whatever the client sent, and proves nothing).
func (p proxies) clientIP(r *http.Request) string {
	a, ok := peer(r)
	if !ok {
		return r.RemoteAddr
	}
	if len(p) == 0 || !p.trusted(a) {
		return a.String()
	}
	chain := forwardedFor(r.Header)
	for i := len(chain) - 1; i >= 0; i-- {
		if !p.trusted(chain[i]) {
			return chain[i].String()
		}
		a = chain[i]
	}
	return a.String() // every hop is trusted: the left-most one
}

// forwardedFor reads the chain of client addresses, nearest last, from
// Forwarded (RFC 7239) or else X-Forwarded-For. An entry that is not an
// address ("unknown", an obfuscated name) ends the chain there: what is left
// of it cannot be checked.
func forwardedFor(h http.Header) []netip.Addr {
	var raw []string
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		for _, line := range fw {
			for _, elem := range strings.Split(line, ",") {
				raw = append(raw, forwardedParam(elem, "for"))
			}
		}
	} else {
		for _, line := range h.Values("X-Forwarded-For") {
			raw = append(raw, strings.Split(line, ",")...)
		}
	}
	var out []netip.Addr
	for _, s := range raw {
		a, ok := parseHostAddr(strings.TrimSpace(s))
		if !ok {
			out = out[:0] // keep only what follows the entry we cannot read
			continue
		}
		out = append(out, a)
	}
	return out
}

// forwardedParam returns one parameter of a Forwarded element
// (`for=192.0.2.60;proto=https`), unquoted.
func forwardedParam(elem, name string) string {
	for _, kv := range strings.Split(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && strings.EqualFold(k, name) {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// parseHostAddr reads "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]:80" or
// "2001:db8::1".
func parseHostAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = strings.Trim(s, "[]")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// secure reports whether the client's request came over TLS: to this
// server, or to a trusted proxy that says so.
func (p proxies) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !p.viaProxy(r) {
		return false
	}
	if fw := r.Header.Values("Forwarded"); len(fw) > 0 {
		elems := strings.Split(fw[len(fw)-1], ",")
		return strings.EqualFold(forwardedParam(elems[len(elems)-1], "proto"), "https")
	}
	proto := r.Header.Values("X-Forwarded-Proto")
	if len(proto) == 0 {
		return false
	}
	last := proto[len(proto)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}
