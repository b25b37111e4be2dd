package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// `syncd apikey add` prints the key once (on stdout, alone on its line);
// list shows its first characters, never the key; revoke marks it; a name
// is refused when it is taken or not plain.
func TestAPIKeyCommands(t *testing.T) {
	t.Setenv("SYNCD_DATABASE_DSN", filepath.Join(t.TempDir(), "syncd.db"))
	if out, err := runSyncd(t, "schema", "apply"); err != nil {
		t.Fatalf("schema apply: %v\n%s", err, out)
	}
	out, err := runSyncd(t, "apikey", "add", "shop")
	if err != nil {
		t.Fatalf("apikey add: %v\n%s", err, out)
	}
	var key string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "sk_syncd_") {
			key = line
		}
	}
	if len(key) != len("sk_syncd_")+43 || !strings.Contains(out, "shown once") {
		t.Fatalf("apikey add printed:\n%s", out)
	}
	if out, err := runSyncd(t, "apikey", "add", "shop"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second key named shop: %v\n%s", err, out)
	}
	for _, bad := range []string{"Shop", "a b", "_x", strings.Repeat("a", 33), "api:x"} {
		if _, err := runSyncd(t, "apikey", "add", bad); err == nil || !strings.Contains(err.Error(), "API key name") {
			t.Errorf("name %q: %v; want it refused", bad, err)
		}
	}
	list, err := runSyncd(t, "apikey", "list")
	if err != nil || !strings.Contains(list, "shop") || !strings.Contains(list, key[:15]+"…") || strings.Contains(list, key) || !strings.Contains(list, "active") {
		t.Errorf("apikey list: %v\n%s", err, list)
	}
	if out, err := runSyncd(t, "apikey", "revoke", "shop"); err != nil || !strings.Contains(out, "API key shop revoked") {
		t.Errorf("revoke: %v\n%s", err, out)
	}
	if out, err := runSyncd(t, "apikey", "revoke", "shop"); err != nil || !strings.Contains(out, "revoked already") {
		t.Errorf("second revoke: %v\n%s", err, out)
	}
	if _, err := runSyncd(t, "apikey", "revoke", "nobody"); err == nil || !strings.Contains(err.Error(), "no API key named nobody") {
		t.Errorf("revoke of an unknown name: %v", err)
	}
	if list, _ := runSyncd(t, "apikey", "list"); !strings.Contains(list, "revoked 20") {
		t.Errorf("list after revoke:\n%s", list)
	}
}
