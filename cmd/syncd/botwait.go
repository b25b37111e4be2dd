package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/bridge"
)

// daemonBot is the intent bot as the relay and the console hold it: the
// bot.Service once it runs, and no verdicts before. When the ONNX Runtime
// library is missing at start, syncd runs without the bot and looks for
// the library every poll and on SIGHUP; the bot turns on as soon as the
// library is there (fetched by `make onnxruntime`, or installed later),
// without a restart.
type daemonBot struct {
	opts bot.Options
	log  *slog.Logger
	poll time.Duration

	svc     atomic.Pointer[bot.Service]
	started chan struct{} // closed once svc is set

	mu     sync.Mutex // serialises start attempts; guards closed and tried
	closed bool
	seen   libStamp      // the library file as the last poll found it
	tried  libStamp      // the library file that last failed to load
	done   chan struct{} // closed by close
}

var (
	_ bridge.Bot = (*daemonBot)(nil)
	_ interface {
		Suggestion(string, float64, string) string
	} = (*daemonBot)(nil)
)

func newDaemonBot(opts bot.Options, log *slog.Logger, svc *bot.Service) *daemonBot {
	poll := opts.PollInterval
	if poll <= 0 {
		poll = bot.DefaultPollInterval
	}
	d := &daemonBot{opts: opts, log: log, poll: poll, started: make(chan struct{}), done: make(chan struct{})}
	if svc != nil {
		d.svc.Store(svc)
		close(d.started)
	}
	return d
}

// Assess is the bot's verdicts, or none while the bot is off.
func (d *daemonBot) Assess(ctx context.Context, in []bridge.Inbound) ([]bridge.Verdict, error) {
	if s := d.svc.Load(); s != nil {
		return s.Assess(ctx, in)
	}
	return bridge.NoBot{}.Assess(ctx, in)
}

// Suggestion is the bot's, or "" while the bot is off.
func (d *daemonBot) Suggestion(intent string, confidence float64, text string) string {
	if s := d.svc.Load(); s != nil {
		return s.Suggestion(intent, confidence, text)
	}
	return ""
}

// Intents are the model's, or none while the bot is off.
func (d *daemonBot) Intents() []string {
	if s := d.svc.Load(); s != nil {
		return s.Intents()
	}
	return nil
}

func (d *daemonBot) stats() bot.Stats {
	if s := d.svc.Load(); s != nil {
		return s.Stats()
	}
	return bot.Stats{}
}

// reload is SIGHUP: the service reloads its files, or, while the bot is
// off, syncd looks for the library once more and says what it found.
func (d *daemonBot) reload(ctx context.Context) {
	if s := d.svc.Load(); s != nil {
		// The bot logs what it swapped in; a file that did not load leaves
		// its predecessor in force, and the error names the file.
		if err := s.Reload(ctx); err != nil {
			d.log.Error("intent bot reload incomplete; what did not load stays as it was", slog.Any("error", err))
		}
		return
	}
	d.tryStart(ctx, true)
}

// run looks for the library until the bot is on, then runs the service's
// file watcher, until ctx ends or close is called.
func (d *daemonBot) run(ctx context.Context) {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for d.svc.Load() == nil {
		select {
		case <-ctx.Done():
			return
		case <-d.done:
			return
		case <-d.started:
		case <-t.C:
			d.tryStart(ctx, false)
		}
	}
	t.Stop()
	if err := d.svc.Load().Run(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, bot.ErrClosed) {
		d.log.Error("intent bot watcher stopped", slog.Any("error", err))
	}
}

// tryStart starts the bot if the library is there. A poll loads a file
// it found unchanged since the previous poll; one that did not load is
// tried again when it changes. SIGHUP (force) tries at once, and logs why
// the bot stays off.
func (d *daemonBot) tryStart(ctx context.Context, force bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.svc.Load() != nil {
		return
	}
	lib, err := onnxrt.LibraryPath(d.opts.LibraryPath)
	if err != nil {
		if force {
			d.log.Warn("intent bot still off: ONNX Runtime not found; "+botOffHint, slog.Any("error", err))
		}
		return
	}
	st := stampLib(lib)
	if !force {
		// Only a file that stayed the same for a whole poll: one that is
		// still being copied changes in between (Init also refuses a
		// short one). A file that did not load waits for a change.
		seen := d.seen
		d.seen = st
		if st != seen || st == d.tried {
			return
		}
	}
	d.tried = st
	svc, err := bot.New(ctx, d.opts) // logs "intent bot on"
	if err != nil {
		d.log.Warn("ONNX Runtime found, but the intent bot did not start; it stays off until the file changes, or SIGHUP",
			slog.String("onnxruntime", lib), slog.Any("error", err))
		return
	}
	d.svc.Store(svc)
	close(d.started)
}

// close stops the bot; run returns. It may be called more than once.
func (d *daemonBot) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	close(d.done)
	d.mu.Unlock()
	if s := d.svc.Load(); s != nil {
		_ = s.Close()
	}
}

// libStamp identifies a version of the library file.
type libStamp struct {
	path string
	mod  time.Time
	size int64
}

func stampLib(path string) libStamp {
	st := libStamp{path: path}
	if fi, err := os.Stat(path); err == nil {
		st.mod, st.size = fi.ModTime(), fi.Size()
	}
	return st
}
