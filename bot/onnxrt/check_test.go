package onnxrt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A library that is still being copied (or was cut short) must be refused
// before dlopen maps it: touching its missing part kills the process with
// SIGBUS, as syncd did when the library appeared under its feet.
func TestInitRefusesIncompleteLibrary(t *testing.T) {
	lib, err := LibraryPath("")
	if err != nil {
		t.Fatalf("%v\nfetch it with scripts/onnxruntime.sh (make onnxruntime), or set %s", err, EnvLibrary)
	}
	whole, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"half":  whole[:len(whole)/2],
		"head":  whole[:4096],
		"empty": nil,
		"text":  []byte("not a library\n"),
	} {
		p := filepath.Join(dir, name+".so")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := checkLibrary(p); err == nil {
			t.Errorf("%s copy of the library: accepted", name)
		}
		if Loaded() == "" { // once the environment exists, Init no longer looks
			if err := Init(p); !errors.Is(err, ErrNoRuntime) {
				t.Errorf("Init(%s copy) = %v, want ErrNoRuntime", name, err)
			}
		}
	}
	if err := checkLibrary(lib); err != nil {
		t.Errorf("the whole library: %v", err)
	}
}
