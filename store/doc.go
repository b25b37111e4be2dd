// Package store is the relay's database: it opens MySQL/MariaDB,
// PostgreSQL or SQLite through gorm and holds every statement the relay
// runs on message_sync and its claims. The claim and the fenced write-back
// are in relay.go, in plain SQL, so that a reviewer can read them in one
// place; chat history is written through chat/history inside the same
// transaction; the few pieces of SQL in which the databases differ come
// from internal/dialect. Callers (the poller, the CLI) see small methods,
// never gorm.
//
// The package's tests are the stores' conformance suite: every test that
// runs through forEachDialect runs unchanged on MariaDB, PostgreSQL and
// SQLite (testdb.AllDialects), against the machine's real servers; the few
// that only one database can show (a frozen holder's transaction, a
// writer's transaction held open, sql_mode) say which and why.
package store
