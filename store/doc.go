// Package store is syncd's database seam: it opens MySQL/MariaDB or SQLite
// through gorm and holds every statement the relay runs. The claim and the
// fenced write-back are in relay.go, in plain SQL, so that a reviewer can
// read them in one place. Callers (the poller, the CLI) see small methods,
// never gorm.
package store
