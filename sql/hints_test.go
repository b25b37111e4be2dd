package schema_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// A migration applied from another version of its file stops Check and
// Apply; the error must carry the way out, and following it must work.
func TestModifiedMigrationSaysWhatToRun(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st := emptyStore(t, ctx, dialect)
			if _, err := st.ApplySchema(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.SQL().ExecContext(ctx, `UPDATE syncd_schema_migrations SET checksum = ? WHERE version = 2`, strings.Repeat("0", 64)); err != nil {
				t.Fatal(err)
			}
			checkErr := st.CheckSchema(ctx)
			_, applyErr := st.ApplySchema(ctx)
			update := regexp.MustCompile(`UPDATE syncd_schema_migrations SET checksum = '[0-9a-f]{64}' WHERE version = 2;`)
			for what, err := range map[string]error{"check": checkErr, "apply": applyErr} {
				if err == nil {
					t.Fatalf("%s of a modified migration: no error", what)
				}
				if !update.MatchString(err.Error()) || !strings.Contains(err.Error(), "syncd schema print --dialect "+dialect) {
					t.Errorf("%s error does not say how to compare and record the file: %v", what, err)
				}
			}
			stmt := strings.TrimSuffix(update.FindString(checkErr.Error()), ";")
			if _, err := st.SQL().ExecContext(ctx, stmt); err != nil {
				t.Fatalf("run the statement the error gives: %v", err)
			}
			if err := st.CheckSchema(ctx); err != nil {
				t.Errorf("check after following the hint: %v", err)
			}
		})
	}
}

// A migration that fails halfway says which of its statements took effect
// and how to finish, since a second apply would stumble on them.
func TestPartlyAppliedMigrationSaysWhatToDo(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			st := emptyStore(t, ctx, dialect)
			// In the way of 0001_relay's last table.
			if _, err := st.SQL().ExecContext(ctx, `CREATE TABLE message_reply (id INT)`); err != nil {
				t.Fatal(err)
			}
			_, err := st.ApplySchema(ctx)
			if err == nil {
				t.Fatal("apply over a table in the way: no error")
			}
			for _, want := range []string{"apply 0001_relay, statement", "of 0001_relay took effect", "is not recorded",
				"syncd schema print --dialect " + dialect} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
		})
	}
}
