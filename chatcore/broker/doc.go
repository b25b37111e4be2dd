// Package broker carries the chat core's console events between the
// instances of a deployment: Redis pub/sub for several instances, or
// in-process for one. Both satisfy chatcore.Broker, which is declared
// where it is used.
package broker
