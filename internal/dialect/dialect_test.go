package dialect

import (
	"errors"
	"fmt"
	"testing"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// A deadlock or lock wait timeout, as each driver reports it (wrapped as
// the stores wrap errors), runs the transaction again, up to three runs;
// any other error ends it at once.
func TestRetryDeadlocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		runs int
	}{
		{"MySQL deadlock", &mysqldrv.MySQLError{Number: 1213}, 3},
		{"MySQL lock wait timeout", &mysqldrv.MySQLError{Number: 1205}, 3},
		{"PostgreSQL deadlock", &pgconn.PgError{Code: "40P01"}, 3},
		{"PostgreSQL lock_timeout", &pgconn.PgError{Code: "55P03"}, 3},
		{"duplicate key", &mysqldrv.MySQLError{Number: 1062}, 1},
		{"anything else", errors.New("claim lost"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			err := RetryDeadlocks(func() error { runs++; return fmt.Errorf("commit: %w", tc.err) })
			if runs != tc.runs || !errors.Is(err, tc.err) {
				t.Fatalf("%d runs, %v; want %d runs and the error", runs, err, tc.runs)
			}
			runs = 0
			if err := RetryDeadlocks(func() error {
				if runs++; runs == 1 {
					return tc.err
				}
				return nil
			}); (err == nil) != (tc.runs > 1) {
				t.Fatalf("a second run that succeeds: %v after %d runs", err, runs)
			}
		})
	}
}

func TestIsDuplicate(t *testing.T) {
	for err, want := range map[error]bool{
		&mysqldrv.MySQLError{Number: 1062}:                    true,
		&pgconn.PgError{Code: "23505"}:                        true,
		errors.New("UNIQUE constraint failed: chat_labels.x"): true,
		&pgconn.PgError{Code: "40P01"}:                        false,
	} {
		if got := IsDuplicate(fmt.Errorf("insert: %w", err)); got != want {
			t.Errorf("IsDuplicate(%v) = %v", err, got)
		}
	}
}
