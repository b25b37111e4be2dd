package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
)

// Components stop newest first, each once, and a scope's goroutines have
// returned before the next (older) component stops.
func TestLifecycleStopsInReverse(t *testing.T) {
	life := &lifecycle{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var order []string
	life.onStop("database", func(context.Context) { order = append(order, "database") })
	ctx, wg := life.scope(context.Background(), "worker", func(context.Context) { order = append(order, "worker: before") })
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		order = append(order, "worker: goroutine returned") // before database: the stop waits
		close(done)
	}()
	life.onStop("poller", func(context.Context) { order = append(order, "poller") })
	life.stop(context.Background())
	life.stop(context.Background()) // nothing left
	<-done
	want := []string{"poller", "worker: before", "worker: goroutine returned", "database"}
	if !slices.Equal(order, want) {
		t.Fatalf("stopped %q, want %q", order, want)
	}
}
