package onnxrt

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// EnvLibrary names the environment variable that points at
// libonnxruntime.so.
const EnvLibrary = "SYNCD_ONNXRUNTIME_LIB"

// Version is the ONNX Runtime release scripts/onnxruntime.sh fetches; the
// Go binding (onnxruntime_go v1.27) speaks its C API version.
const Version = "1.24.1"

// ErrNoRuntime means the ONNX Runtime library was not found or would not
// load. It is returned wrapped, with the paths that were tried.
var ErrNoRuntime = errors.New("onnx runtime library not available")

// DefaultLibraryPath is where scripts/onnxruntime.sh caches the library:
// ${XDG_CACHE_HOME:-$HOME/.cache}/syncd/onnxruntime-<Version>/libonnxruntime.so.1.
func DefaultLibraryPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "syncd", "onnxruntime-"+Version, "libonnxruntime.so.1")
}

// LibraryPath returns the first of explicit, $SYNCD_ONNXRUNTIME_LIB and
// DefaultLibraryPath that is set. An explicit or environment path must exist:
// pointing at a missing file is a mistake to report, not a reason to fall
// back silently.
func LibraryPath(explicit string) (string, error) {
	for _, c := range []struct{ path, from string }{
		{explicit, "option"},
		{os.Getenv(EnvLibrary), EnvLibrary},
	} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrNoRuntime, c.from, err)
		}
		return c.path, nil
	}
	def := DefaultLibraryPath()
	if def == "" {
		return "", fmt.Errorf("%w: no cache directory and %s is not set", ErrNoRuntime, EnvLibrary)
	}
	if _, err := os.Stat(def); err != nil {
		return "", fmt.Errorf("%w: %s is not set and %s does not exist", ErrNoRuntime, EnvLibrary, def)
	}
	return def, nil
}

var env struct {
	mu   sync.Mutex
	path string // the library the environment was created from
}

// Init loads the library at path and creates the process-wide environment,
// once. Later calls are no-ops that return nil, also with another path: the
// library cannot be swapped in a running process, so the first one stays.
// A failed attempt is not remembered, so a later call may succeed.
func Init(path string) error {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.path != "" {
		return nil
	}
	if err := checkLibrary(path); err != nil {
		return fmt.Errorf("%w: %w", ErrNoRuntime, err)
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: load %s: %w", ErrNoRuntime, path, err)
	}
	env.path = path
	return nil
}

// Loaded returns the library path of the live environment, "" if none.
func Loaded() string {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.path
}

// checkLibrary refuses a file that dlopen must not see: one that is not an
// ELF shared object, or whose segments reach past its end (a copy still
// being written, a truncated download). dlopen maps such a file and the
// process dies of SIGBUS when it touches the missing part.
func checkLibrary(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Errorf("%s is not a shared library: %w", path, err)
	}
	if ef.Type != elf.ET_DYN {
		return fmt.Errorf("%s is not a shared library (ELF type %s)", path, ef.Type)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && p.Off+p.Filesz > uint64(fi.Size()) {
			return fmt.Errorf("%s is incomplete: %d bytes, its segments need %d (still being copied?)", path, fi.Size(), p.Off+p.Filesz)
		}
	}
	return nil
}
