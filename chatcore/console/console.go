package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every file. Scripts, styles and
// everything else come only from the console's own origin; no inline script
// or style is allowed; the only other connection is the WebSocket, to
// wsOrigin (the console's own origin as ws:// or wss://: 'self' does not
// cover WebSocket schemes in every browser, and "ws: wss:" would allow any
// host). The text catalogs (locales/*.json) are fetched from the same
// origin, which connect-src 'self' allows.
func ContentSecurityPolicy(wsOrigin string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src 'self' data:; font-src 'self'; connect-src 'self' " + wsOrigin + "; media-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

type file struct {
	body        []byte
	etag        string
	contentType string
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json; charset=utf-8",
}

// Handler serves the embedded console: index.html at "/" and the other
// files by name. Only GET and HEAD are allowed; unknown paths are 404.
// wsOrigin returns the origin the page may open its WebSocket to; the
// caller has checked the request's Host, which it is made from.
//
// The files carry a strong ETag and "Cache-Control: no-cache", so a browser
// revalidates each load cheaply (304) and never runs a stale module after
// an upgrade; the files have no hashed names that would allow more.
func Handler(wsOrigin func(*http.Request) string) http.Handler {
	files := mustLoad()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy(wsOrigin(r)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")

		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "index.html"
		}
		f, ok := files[name]
		if !ok {
			h.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", f.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}

// mustLoad reads the embedded files once. It panics only if the embed
// itself is broken, which the package's tests catch.
func mustLoad() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "static/")] = file{
			body:        body,
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			contentType: ct,
		}
		return nil
	})
	if err != nil {
		panic("console: read embedded files: " + err.Error())
	}
	return out
}
