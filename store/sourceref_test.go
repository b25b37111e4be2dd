package store_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// retryStatement is the idempotent INSERT that the dialect's
// 0013_source_ref.sql shows the DBA (and the README the writers): the
// commented lines from "INSERT INTO message_sync" to the first ";".
func retryStatement(t *testing.T, dialect string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "sql", dialect, "0013_source_ref.sql"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stmt []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "--"))
		if len(stmt) == 0 && !strings.HasPrefix(line, "INSERT INTO message_sync") {
			continue
		}
		stmt = append(stmt, line)
		if strings.HasSuffix(line, ";") {
			return strings.TrimSuffix(strings.Join(stmt, " "), ";")
		}
	}
	t.Fatalf("%s/0013_source_ref.sql shows no INSERT INTO message_sync … ; statement", dialect)
	return ""
}

// A legacy writer that retries its INSERT with the statement the
// migration documents gets one row, before and after the row is relayed;
// references are compared byte for byte, and rows without one never clash.
func TestSourceRefMakesRetriesSafe(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *testdb.DB) {
		ctx := context.Background()
		stmt := retryStatement(t, db.Driver)
		if !strings.Contains(stmt, "'erp:4711'") {
			t.Fatalf("the documented statement does not write source_ref 'erp:4711': %s", stmt)
		}
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := db.Raw.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		exec := func(q string) {
			t.Helper()
			if _, err := db.Raw.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(stmt)
		exec(stmt) // the writer lost the answer and retries
		if n := count(`SELECT COUNT(*) FROM message_sync WHERE source_ref = 'erp:4711'`); n != 1 {
			t.Fatalf("%d rows after a retried INSERT, want 1", n)
		}

		c := claim(t, db.Store, 10)
		if len(c.Rows) != 1 {
			t.Fatalf("claimed %d rows, want 1", len(c.Rows))
		}
		if _, err := db.Store.Commit(ctx, c, relayAll(c)); err != nil {
			t.Fatal(err)
		}
		exec(stmt) // a late retry, after the row was relayed
		if n := count(`SELECT COUNT(*) FROM message_sync`); n != 1 {
			t.Fatalf("%d rows after a retry of a relayed row, want 1", n)
		}
		if n := historyCount(t, db, c.Rows[0].ID); n != 1 {
			t.Fatalf("the row is in history %d times, want 1", n)
		}

		// Other spellings are other rows; so are rows without a reference.
		for _, ref := range []string{"ERP:4711", "erp:4711 "} {
			exec(strings.Replace(stmt, "'erp:4711'", "'"+ref+"'", 1))
		}
		exec(`INSERT INTO message_sync (conversation_key, body) VALUES ('order-1001', 'no reference')`)
		exec(`INSERT INTO message_sync (conversation_key, body) VALUES ('order-1001', 'no reference')`)
		if n := count(`SELECT COUNT(*) FROM message_sync`); n != 5 {
			t.Errorf("%d rows, want 5: 'erp:4711', 'ERP:4711', 'erp:4711 ' and two without a reference", n)
		}
	})
}

// The README shows the writers each dialect's statement.
func TestReadmeShowsTheRetryStatements(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(string(readme)), " ")
	for _, d := range testdb.AllDialects {
		if stmt := retryStatement(t, d); !strings.Contains(flat, stmt+";") {
			t.Errorf("README lacks %s's statement: %s;", d, stmt)
		}
	}
}
