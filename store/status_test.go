package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// A status syncd does not know never hides a row: MariaDB's ENUM refuses
// it in strict mode, takes 'PENDING' as 'pending' (the ENUM compares as
// its collation does), and with an empty sql_mode stores the empty string for it, which
// Stats counts as unrecognised so that `syncd status` shows it.
func TestUnrecognisedStatusCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	my := testdb.New(t, "mysql")
	conn, err := my.Raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET SESSION sql_mode = 'STRICT_TRANS_TABLES'`); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, status) VALUES ('strict', 'x', 'new')`)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1265 {
		t.Errorf("strict mode: INSERT with status 'new' gave %v, want error 1265 (Data truncated)", err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, status) VALUES ('upper', 'x', 'PENDING')`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `SET SESSION sql_mode = ''`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, status) VALUES ('lax', 'x', 'new')`); err != nil {
		t.Fatalf("sql_mode='': %v", err)
	}

	st, err := my.Store.Stats(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if st.ByStatus["pending"] != 1 || st.Unrecognised != 1 {
		t.Errorf("Stats: pending %d, unrecognised %d; want 1 ('PENDING' stored as pending) and 1 ('new' stored as '')",
			st.ByStatus["pending"], st.Unrecognised)
	}

	sq := testdb.New(t, "sqlite")
	if _, err := sq.Raw.ExecContext(ctx, `INSERT INTO message_sync (conversation_key, body, status) VALUES ('k', 'x', 'new')`); err == nil {
		t.Error("SQLite accepted status 'new'; its CHECK should refuse it")
	}
	if st, err := sq.Store.Stats(ctx, true); err != nil || st.Unrecognised != 0 {
		t.Errorf("SQLite Stats: %+v, %v; want no unrecognised rows", st, err)
	}
}
