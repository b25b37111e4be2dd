package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	h := Handler(func(*http.Request) string { return "ws://example.com" })
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", "<form id=\"login-form\""},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", "import"},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"GET", "/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/locales/zh-CN.json", 200, "application/json; charset=utf-8", `"tabs.mine": "我的"`},
		{"GET", "/nope.js", 404, "", ""},
		{"GET", "/static/app.js", 404, "", ""},
		{"GET", "/../console.go", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy("ws://example.com") {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("X-Content-Type-Options missing")
			}
			if tt.status != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if rec.Header().Get("ETag") == "" {
				t.Error("ETag missing")
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
		})
	}
}

func TestContentSecurityPolicyIsStrict(t *testing.T) {
	t.Parallel()
	csp := ContentSecurityPolicy("wss://support.example.com")
	// Sockets go to the console's own origin only, not to any host.
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self' wss://support.example.com;", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy lacks %q", want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:", "ws:;", "wss:;", "ws: ", "wss: "} {
		if strings.Contains(csp, bad) {
			t.Errorf("policy allows %q", bad)
		}
	}
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	h := Handler(func(*http.Request) string { return "ws://example.com" })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/app.js", nil))
	etag := rec.Header().Get("ETag")

	req := httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation status = %d, want 304", rec.Code)
	}
}

// The console must stay free of inline script (the policy would block it)
// and of HTML sinks that could turn a message body into markup.
func TestStaticFilesAreSafe(t *testing.T) {
	t.Parallel()
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	handlerAttr := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	sinks := []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "javascript:"}

	walk(t, func(name, body string) {
		switch path.Ext(name) {
		case ".html":
			if inlineScript.MatchString(body) {
				t.Errorf("%s has an inline script", name)
			}
			if handlerAttr.MatchString(body) {
				t.Errorf("%s has an inline event handler", name)
			}
			if strings.Contains(body, " style=") {
				t.Errorf("%s has an inline style", name)
			}
		case ".js":
			for _, s := range sinks {
				if strings.Contains(body, s) {
					t.Errorf("%s uses %s", name, s)
				}
			}
		}
	})
}

// Every module import and every file the page links must be embedded.
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	ref := regexp.MustCompile(`(?:from\s+'\./([^']+)'|(?:src|href)="([^":]+)"|url\("([^":]+)"\))`)
	have := map[string]bool{}
	walk(t, func(name, _ string) { have[name] = true })
	walk(t, func(name, body string) {
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			target := m[1] + m[2] + m[3]
			if strings.HasPrefix(target, "/api/") {
				continue
			}
			if !have[target] {
				t.Errorf("%s refers to %q, which is not embedded", name, target)
			}
		}
	})
}

func walk(t *testing.T, fn func(name, body string)) {
	t.Helper()
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		fn(strings.TrimPrefix(p, "static/"), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
