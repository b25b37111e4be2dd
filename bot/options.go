package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults used when an Options field is zero.
const (
	DefaultCacheSize    = 10000
	DefaultPollInterval = 2 * time.Second
)

// Options configure a Service. The zero value runs the built-in model with
// no answers.
type Options struct {
	// ModelPath is the .onnx model file; Run watches it for changes. Empty:
	// the default model built into syncd (bot/model/default.onnx).
	ModelPath string
	// AnswersPath is the answers YAML (see configs/bot.yaml); Run watches
	// it for changes. Empty: Answers.
	AnswersPath string
	// Answers is answers YAML content, used when AnswersPath is empty (for
	// a copy built into the binary). Both empty: the bot classifies but
	// never replies.
	Answers []byte
	// Threshold, when > 0, overrides the answers file's threshold.
	Threshold float64
	// SuggestThreshold, when > 0, overrides the answers file's
	// suggestion floor (see Decide).
	SuggestThreshold float64
	// CacheSize is the number of normalised texts whose result is cached
	// per model. Negative turns the cache off.
	CacheSize int
	// LibraryPath is libonnxruntime.so. Empty: $SYNCD_ONNXRUNTIME_LIB, then
	// the cache that scripts/onnxruntime.sh fills.
	LibraryPath string
	// PollInterval is how often Run checks the model and answers files.
	// Negative: never; Reload still works.
	PollInterval time.Duration
	// IntraOpThreads caps the threads ONNX Runtime uses per batch; zero is
	// its default (one per core).
	IntraOpThreads int
	// Logger receives reloads and template errors; nil: slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Threshold < 0 || o.Threshold > 1:
		return fmt.Errorf("bot: threshold %v is not in [0, 1]", o.Threshold)
	case o.SuggestThreshold < 0 || o.SuggestThreshold > 1:
		return fmt.Errorf("bot: suggest threshold %v is not in [0, 1]", o.SuggestThreshold)
	case o.IntraOpThreads < 0:
		return errors.New("bot: intra-op threads is negative")
	}
	return nil
}
