package main

import (
	"context"
	"log/slog"
	"sync"
)

// lifecycle starts the daemon's components in order and stops them in
// the reverse order, each once: what started last (the poller, the
// listener) stops first, and what everything uses (the database, Redis)
// closes last, so that nothing probes or writes through a closed pool.
type lifecycle struct {
	log   *slog.Logger
	mu    sync.Mutex
	stops []stopper
}

type stopper struct {
	name string
	stop func(ctx context.Context)
}

// onStop registers stop for the component just started.
func (l *lifecycle) onStop(name string, stop func(ctx context.Context)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stops = append(l.stops, stopper{name, stop})
}

// scope is a context and a WaitGroup for the goroutines of a component:
// when its turn comes, before (run first) is called, then the context is
// cancelled and the goroutines are waited for.
func (l *lifecycle) scope(parent context.Context, name string, before func(ctx context.Context)) (context.Context, *sync.WaitGroup) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	wg := &sync.WaitGroup{}
	l.onStop(name, func(sctx context.Context) {
		if before != nil {
			before(sctx)
		}
		cancel()
		wg.Wait()
	})
	return ctx, wg
}

// stop stops every component registered so far, newest first. Safe to
// call more than once: a component stops once.
func (l *lifecycle) stop(ctx context.Context) {
	for {
		l.mu.Lock()
		n := len(l.stops)
		if n == 0 {
			l.mu.Unlock()
			return
		}
		s := l.stops[n-1]
		l.stops = l.stops[:n-1]
		l.mu.Unlock()
		l.log.Debug("stopping", slog.String("component", s.name))
		s.stop(ctx)
	}
}
