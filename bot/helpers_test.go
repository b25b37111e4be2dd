package bot

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"github.com/syncd-dev/syncd/bot/onnxrt"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// requireRuntime fails (never skips) when the ONNX Runtime library is
// missing: CI fetches it first, and a developer should too.
func requireRuntime(t testing.TB) {
	t.Helper()
	if _, err := onnxrt.LibraryPath(""); err != nil {
		t.Fatalf("%v\nfetch it with scripts/onnxruntime.sh (make onnxruntime), or set %s", err, onnxrt.EnvLibrary)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// answersPath is the shipped answers file, configs/bot.yaml.
const answersPath = "../configs/bot.yaml"

// newTestService starts a Service on the built-in model and the shipped
// answers, closed at cleanup.
func newTestService(t testing.TB, opts Options) *Service {
	t.Helper()
	requireRuntime(t)
	if opts.AnswersPath == "" && opts.Answers == nil {
		opts.AnswersPath = answersPath
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = -1
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
