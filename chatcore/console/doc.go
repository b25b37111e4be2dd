// Package console serves the agents' web console: a few static ES modules,
// one HTML page and a style sheet, embedded in the binary with go:embed so
// that every syncd instance serves the same console with no build step.
//
// The console talks to the instance only through the HTTP API and the
// WebSocket described in docs/protocol.md; this package holds no logic of
// its own beyond serving the files with cache and security headers.
// Mount it at the root of the console's address:
//
//	mux.Handle("/", console.Handler())
package console
