package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// The poller's reads are capped on the server at the hold limit: a
// statement its client gave up on used to run on for minutes on MariaDB,
// holding a read view that kept purge from catching up. Without a hold
// limit nothing is capped.
func TestPollerReadsAreCappedOnTheServer(t *testing.T) {
	dsn := testdb.NewMySQLDatabase(t)
	ctx := context.Background()
	capped, err := store.Open(ctx, "mysql", dsn, 2, store.HoldLimit(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer capped.Close()
	var slept int
	err = capped.SQL().QueryRowContext(ctx, capped.BoundedRead(`SELECT SLEEP(5)`)).Scan(&slept)
	if err == nil && slept != 1 {
		t.Fatalf("SLEEP(5) under a 1 s cap returned %d, want it interrupted", slept)
	}
	if err != nil && !strings.Contains(err.Error(), "max_statement_time") {
		t.Fatalf("capped read: %v, want max_statement_time exceeded", err)
	}

	free, err := store.Open(ctx, "mysql", dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer free.Close()
	if q := free.BoundedRead(`SELECT 1`); q != `SELECT 1` {
		t.Fatalf("without a hold limit the read became %q", q)
	}
}
