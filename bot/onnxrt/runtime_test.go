package onnxrt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLibraryPathOrder(t *testing.T) {
	dir := t.TempDir()
	explicit := filepath.Join(dir, "explicit.so")
	fromEnv := filepath.Join(dir, "env.so")
	for _, p := range []string{explicit, fromEnv} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := filepath.Join(dir, "cache")
	t.Setenv("XDG_CACHE_HOME", cache)

	t.Setenv(EnvLibrary, fromEnv)
	if got, err := LibraryPath(explicit); err != nil || got != explicit {
		t.Errorf("explicit: got %q, %v", got, err)
	}
	if got, err := LibraryPath(""); err != nil || got != fromEnv {
		t.Errorf("env: got %q, %v", got, err)
	}
	t.Setenv(EnvLibrary, filepath.Join(dir, "missing.so"))
	if _, err := LibraryPath(""); !errors.Is(err, ErrNoRuntime) {
		t.Errorf("missing env path: got %v, want ErrNoRuntime", err)
	}

	t.Setenv(EnvLibrary, "")
	want := filepath.Join(cache, "syncd", "onnxruntime-"+Version, "libonnxruntime.so.1")
	if DefaultLibraryPath() != want {
		t.Errorf("DefaultLibraryPath() = %q, want %q (where scripts/onnxruntime.sh writes)", DefaultLibraryPath(), want)
	}
	if _, err := LibraryPath(""); !errors.Is(err, ErrNoRuntime) {
		t.Errorf("empty cache: got %v, want ErrNoRuntime", err)
	}
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := LibraryPath(""); err != nil || got != want {
		t.Errorf("cache: got %q, %v", got, err)
	}
}

func TestInitTwice(t *testing.T) {
	p, err := LibraryPath("")
	if err != nil {
		t.Fatalf("%v\nfetch it with scripts/onnxruntime.sh (make onnxruntime), or set %s", err, EnvLibrary)
	}
	for range 2 {
		if err := Init(p); err != nil {
			t.Fatal(err)
		}
	}
	if Loaded() != p {
		t.Errorf("Loaded() = %q, want %q", Loaded(), p)
	}
}
