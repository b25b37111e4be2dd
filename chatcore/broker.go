package chatcore

import "context"

// Broker carries console events between the instances of one deployment
// (package broker: Redis pub/sub, or in-process).
// It is a best-effort pipe: an event lost in an outage is made good by the
// sweep, so implementations neither persist nor acknowledge.
type Broker interface {
	// Publish sends payload to every subscriber of every instance, this
	// one's included.
	Publish(ctx context.Context, payload []byte) error
	// Subscribe calls deliver with each payload published, in order, from
	// one goroutine, until ctx is done; then it returns nil. It survives
	// outages of the broker by itself, logging and retrying with backoff;
	// it returns an error only when it cannot subscribe at all.
	Subscribe(ctx context.Context, deliver func(payload []byte)) error
}
