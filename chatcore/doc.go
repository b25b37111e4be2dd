// Package chatcore is the agent console's server side: the HTTP API and the
// WebSocket hub that push chat history to agents as it is written.
//
// A [Core] is built with [New] and serves [Core.Handler] (the /api/* routes,
// /ws and the console's static files, as docs/protocol.md describes). The
// relay calls [Core.Publish] after each committed batch; Publish hands the
// messages to the sockets of this instance at once and to the other
// instances through a [Broker] (package broker: in-process for one
// process, Redis pub/sub for several). [Core.Run] owns every background goroutine:
// the broker subscription, the publisher and the sweep, which re-reads
// conversations whose last_seq moved every few seconds so that a message
// that was committed but never published still reaches the screens.
//
// Delivery is at least once, ordered by seq per conversation; clients merge
// by seq and fetch gaps over HTTP, so a lost push costs a few seconds, never
// a message.
//
// Its parts, by file and package: the hub (hub.go, conn.go, queue.go,
// cork.go, frames.go, ws.go: sockets and fan-out), publishing (publish.go,
// sweep.go), the HTTP API (http.go routes, api.go, labelapi.go; owner.go
// take, release and hand to; adminapi.go the agent list and the admins'
// agent management), presence.go (who is online), the front
// door (auth.go login and sessions, loginlimit.go, origin.go, proxy.go);
// and, as packages, broker (in-process and Redis fan-out), presence
// (online agents: in-process, or Redis heartbeats with a TTL), session (signed
// cookies), credentials (bcrypt), loginstate (login failure counts) and
// console (the static files).
//
// Storage stays behind the small interfaces of [DB]; package chatstore
// implements them with gorm on MySQL/MariaDB, PostgreSQL and SQLite.
package chatcore
