package bridge

import (
	"context"

	"github.com/syncd-dev/syncd/chat"
)

// Publisher pushes committed chat messages to connected agents. It is called
// after the relay transaction commits; a failure there loses nothing, since
// the messages are in chat history and clients catch up from it.
type Publisher interface {
	Publish(ctx context.Context, msgs []chat.Message) error
}

// NoPublisher drops messages; used by commands that relay without a console.
type NoPublisher struct{}

func (NoPublisher) Publish(context.Context, []chat.Message) error { return nil }
