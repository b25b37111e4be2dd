package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
	"github.com/syncd-dev/syncd/store"
)

// syncd's PostgreSQL sessions: UTC, READ COMMITTED, plans made with the
// statement's values (a generic plan of the claim scanned every pending
// row), and the hold limit as the server's own timeouts; a setting the DSN
// gives wins.
func TestPostgresSessionSettings(t *testing.T) {
	db := testdb.New(t, "postgres")
	ctx := context.Background()
	st, err := store.Open(ctx, "postgres", db.DSN+"&lock_timeout=7s", 2, store.HoldLimit(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, want := range map[string]string{
		"TimeZone": "UTC", "default_transaction_isolation": "read committed", "plan_cache_mode": "force_custom_plan",
		"application_name":                    "syncd",
		"idle_in_transaction_session_timeout": "1500ms", "lock_timeout": "7s",
	} {
		var got string
		if err := st.SQL().QueryRowContext(ctx, `SELECT current_setting($1)`, name).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
}
