package presence

import (
	"context"
	"slices"
	"sync"
)

// Memory counts the sockets each agent has open in this process. It is the
// presence of a single instance, and the local part of Redis.
type Memory struct {
	mu      sync.Mutex
	sockets map[string]int
	changed func() // called after a change that adds or removes a name; may be nil
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{sockets: map[string]int{}} }

// Connect records one more socket of username.
func (m *Memory) Connect(username string) {
	m.mu.Lock()
	m.sockets[username]++
	first := m.sockets[username] == 1
	m.mu.Unlock()
	if first && m.changed != nil {
		m.changed()
	}
}

// Disconnect records that one of username's sockets closed.
func (m *Memory) Disconnect(username string) {
	m.mu.Lock()
	n, ok := m.sockets[username]
	if ok && n > 1 {
		m.sockets[username] = n - 1
	} else {
		delete(m.sockets, username)
	}
	m.mu.Unlock()
	if ok && n <= 1 && m.changed != nil {
		m.changed()
	}
}

// Online returns the agents with a socket open here, sorted.
func (m *Memory) Online(context.Context) ([]string, error) { return m.local(), nil }

func (m *Memory) local() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.sockets))
	for name := range m.sockets {
		out = append(out, name)
	}
	m.mu.Unlock()
	slices.Sort(out)
	return out
}

// Run has nothing to do in one process; it returns when ctx is done.
func (m *Memory) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
