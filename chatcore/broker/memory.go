package broker

import (
	"context"
	"sync"
	"sync/atomic"
)

// memoryBuffer is how many payloads may wait for one subscriber; more are
// dropped, as Redis would drop them for a subscriber that cannot keep up.
const memoryBuffer = 4096

// Memory is a chatcore.Broker within one process: every chat core subscribed to
// the same Memory sees every payload. It is the default of a single
// instance, and lets tests run several chat cores without Redis.
type Memory struct {
	mu      sync.Mutex
	subs    map[chan []byte]struct{}
	dropped atomic.Int64
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{subs: map[chan []byte]struct{}{}}
}

// Publish hands payload to every subscriber without waiting for any.
func (b *Memory) Publish(_ context.Context, payload []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- payload:
		default:
			b.dropped.Add(1)
		}
	}
	return nil
}

// Subscribe delivers payloads from the calling goroutine until ctx is done.
func (b *Memory) Subscribe(ctx context.Context, deliver func([]byte)) error {
	ch := make(chan []byte, memoryBuffer)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-ch:
			deliver(p)
		}
	}
}

// Dropped counts payloads a slow subscriber missed.
func (b *Memory) Dropped() int64 { return b.dropped.Load() }
