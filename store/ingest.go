package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/syncd-dev/syncd/internal/dbtime"
	"github.com/syncd-dev/syncd/internal/dialect"
)

// InsertOnce adds r as Insert does, in one statement, unless a row with
// r.SourceRef exists: then it returns that row's id and created false. It
// is the retry statement of 0013_source_ref, so a request repeated while
// the first is in flight, or after the row was relayed, finds the first
// row. r.SourceRef must be set.
func (s *Store) InsertOnce(ctx context.Context, r NewRow) (id int64, created bool, err error) {
	if r.SourceRef == "" {
		return 0, false, errors.New("insert into message_sync once: no source_ref")
	}
	// Concurrent inserts of one reference can deadlock on InnoDB's
	// duplicate-key locks; the statement is its own transaction, so the
	// victim runs it again.
	err = dialect.RetryDeadlocks(func() error {
		id, created, err = s.insertOnce(ctx, r)
		return err
	})
	return id, created, err
}

func (s *Store) insertOnce(ctx context.Context, r NewRow) (id int64, created bool, err error) {
	q, args := insertRow(r)
	q += s.d.KeepExisting("source_ref", "id")
	if s.d.Returning() {
		err = s.sqlDB.QueryRowContext(ctx, s.d.Rebind(q+` RETURNING id`), args...).Scan(&id)
		if err == nil {
			return id, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) { // no row: the reference was there
			return 0, false, fmt.Errorf("insert into message_sync: %w", err)
		}
	} else {
		res, err := s.sqlDB.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, false, fmt.Errorf("insert into message_sync: %w", err)
		}
		// 1 for a new row; 0 for the kept one (MySQL's id = id changes nothing).
		if n, err := res.RowsAffected(); err != nil {
			return 0, false, fmt.Errorf("insert into message_sync: %w", err)
		} else if n == 1 {
			if id, err = res.LastInsertId(); err != nil {
				return 0, false, fmt.Errorf("insert into message_sync: %w", err)
			}
			return id, true, nil
		}
	}
	// The conflicting row has committed (the unique check waited for it),
	// so a READ COMMITTED read sees it.
	err = s.sqlDB.QueryRowContext(ctx, s.d.Rebind(`SELECT id FROM message_sync WHERE source_ref = ?`), r.SourceRef).Scan(&id)
	if err != nil {
		return 0, false, fmt.Errorf("read the message_sync row of source_ref %q: %w", r.SourceRef, err)
	}
	return id, false, nil
}

// RowState is a message_sync row as a writer sees it: what GET
// /api/v1/messages/{id} answers.
type RowState struct {
	ID          int64
	SourceRef   string // "" when NULL
	Kind        string
	Status      string
	Attempts    int
	LastError   string
	CreatedAt   time.Time // zero when the writer's value is no time
	ProcessedAt time.Time // zero until relayed or failed
}

// ErrNoRow means no message_sync row has that id.
var ErrNoRow = errors.New("no such message_sync row")

// RowState reads one row's state; ErrNoRow when there is none.
func (s *Store) RowState(ctx context.Context, id int64) (RowState, error) {
	st := RowState{ID: id}
	var ref, lastErr sql.NullString
	var created dbtime.WriterTime
	var processed dbtime.WriterTime
	err := s.sqlDB.QueryRowContext(ctx, s.d.Rebind(`SELECT source_ref, kind, status, attempts, last_error, created_at, processed_at
FROM message_sync WHERE id = ?`), id).Scan(&ref, &st.Kind, &st.Status, &st.Attempts, &lastErr, &created, &processed)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read row %d: %w", id, ErrNoRow)
	}
	if err != nil {
		return st, fmt.Errorf("read row %d: %w", id, err)
	}
	st.SourceRef, st.LastError = ref.String, lastErr.String
	st.CreatedAt, st.ProcessedAt = created.Time, processed.Time
	return st, nil
}
