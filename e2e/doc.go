// Package e2e holds end-to-end tests that drive the real syncd binary and
// the agents' console in a headless Chromium.
//
// The tests build ./cmd/syncd, create a fresh MariaDB/MySQL database per
// test, apply the schema and add an agent with the CLI, start `syncd run`
// as subprocesses configured through SYNCD_* variables, insert rows into
// message_sync with plain SQL as a legacy application would, and watch the
// console in Chromium (github.com/chromedp/chromedp).
//
// They need:
//
//   - Chromium at /usr/bin/chromium (apt-get install -y chromium), or the
//     path in SYNCD_E2E_CHROMIUM;
//   - MariaDB or MySQL, root without a password on 127.0.0.1:3306, or the
//     server in SYNCD_TEST_MYSQL_DSN (internal/testdb); every test gets a
//     fresh database, dropped at the end;
//   - Redis on 127.0.0.1:6379, or SYNCD_TEST_REDIS_ADDR. The tests use
//     Redis databases 14 and 15 (./e2e/relay uses 1 to 13) so that shard
//     locks, whose keys have no configurable prefix, stay apart.
//
// Run them with
//
//	go test ./e2e/ -v -count=1
//
// TestConsoleRelayAndReply saves a screenshot of the logged-in console to
// e2e/testdata/console.png (ignored by git), or to SYNCD_E2E_SCREENSHOT.
package e2e
