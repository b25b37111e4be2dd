// Package relay holds end-to-end tests of the relay spine. They build
// ./cmd/syncd once per test binary, start `syncd run` instances as
// subprocesses configured only through SYNCD_* variables, insert rows into
// message_sync with plain SQL as a legacy application would, and check
// message_sync, chat_messages and conversations in the real database.
//
// They need:
//
//   - MariaDB or MySQL, root without a password on 127.0.0.1:3306, or the
//     DSN in SYNCD_TEST_MYSQL_DSN. Every test gets a fresh database
//     (internal/testdb), dropped at the end.
//   - PostgreSQL on 127.0.0.1:5432 (internal/testdb says how to point
//     elsewhere): the core suite (three instances with SIGKILL and restart,
//     graceful shutdown, single-instance crash, commit order) runs on
//     MariaDB and PostgreSQL, and its single-process tests on a SQLite file
//     as well (one syncd process holds the file, with in-process locks,
//     while the test writes to it as the legacy application).
//   - Redis on 127.0.0.1:6379, or SYNCD_TEST_REDIS_ADDR.
//   - The mysql and sqlite3 clients, for the tests that edit rows by hand as
//     an operator would (CI installs them; elsewhere those tests skip).
//
// Redis isolation: the shard lock keys ("syncd:lock:shard:i/n") have no
// configurable prefix, so two runs sharing one Redis must use different
// Redis databases. Each test claims a Redis database numbered 1..13 (./e2e
// uses 14 and 15) that is empty, by setting a marker key there with NX,
// passes its number as SYNCD_REDIS_DB, and deletes its own keys at the end.
// Nothing is flushed. The console's pub/sub channel ("syncd:console") is
// not scoped by database number, so instances of concurrent runs on one
// Redis do hear each other's console events; the relay's outcome does not
// depend on them. Within this package the tests run one after another (no
// t.Parallel): each starts several processes, and the package takes about
// three minutes on two cores, nearly two of them in TestFrozenInstance,
// which stops an instance for 75 s.
//
// Database and Redis outages are made with toxiproxy
// (github.com/Shopify/toxiproxy/v2) running in the test process: syncd
// connects through a proxy that the test stops (every connection closed,
// new ones refused) and starts again on the same port.
//
// Run them with
//
//	go test -race -count=1 ./e2e/relay/
//
// The syncd binary itself is built without -race, so that the timings stay
// close to production; the race detector covers the test's own helpers.
package relay
