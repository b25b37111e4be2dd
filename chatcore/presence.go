package chatcore

import (
	"context"

	"github.com/syncd-dev/syncd/chatcore/presence"
)

var (
	_ Presence = (*presence.Memory)(nil)
	_ Presence = (*presence.Redis)(nil)
)

// Presence knows which agents have a console socket open on any instance
// (package presence: in-process, or Redis heartbeats with a TTL). The hub
// reports each socket it registers and each that closes; GET /api/agents
// and auto-assignment ask Online.
type Presence interface {
	// Connect and Disconnect count one socket of username on this
	// instance; they never block on the network.
	Connect(username string)
	Disconnect(username string)
	// Online returns the usernames online anywhere, sorted. On an error it
	// may still return what it knows (this instance's agents).
	Online(ctx context.Context) ([]string, error)
	// Run keeps the other instances told until ctx is done; Core.Run runs
	// it and waits for it.
	Run(ctx context.Context) error
}

// Online returns the agents with a console socket open on any instance,
// sorted (Options.Presence).
func (c *Core) Online(ctx context.Context) ([]string, error) {
	return c.o.Presence.Online(ctx)
}
