package chatcore

import (
	"net"
	"net/http"
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
func originAllowed(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
			return true
		default:
			return false
		}
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // includes "null" (sandboxed frames, file://)
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true // the server's own origin
	}
	return slices.Contains(allowed, strings.ToLower(u.Scheme+"://"+u.Host))
}

// remoteIP is the default Options.ClientIP: the peer address.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
