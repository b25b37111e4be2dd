package console

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every module of the console parses as an ES module (node --check), so
// that a bad merge or edit fails here, before a browser shows a blank page.
// CI has Node.js; elsewhere the test skips without it.
func TestModulesParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is needed to check the console's modules")
		}
		t.Skip("node is not installed")
	}
	files, err := filepath.Glob(filepath.Join("static", "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no modules in static/: %v", err)
	}
	dir := t.TempDir()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// .mjs: node reads it as a module whatever package.json says.
		tmp := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".js")+".mjs")
		if err := os.WriteFile(tmp, src, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, "--check", tmp).CombinedOutput(); err != nil {
			t.Errorf("%s does not parse: %v\n%s", f, err, out)
		}
	}
}
