package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
	"gorm.io/gorm"
)

// NotifyChannel is what sql/postgres/0001_relay.sql's trigger notifies
// after an INSERT into message_sync, when the switch is on.
const NotifyChannel = "syncd_message_sync"

// ErrNoNotify: the database has no LISTEN/NOTIFY (MySQL, SQLite); syncd
// polls only.
var ErrNoNotify = errors.New("the database cannot notify syncd of new rows (PostgreSQL only); polling only")

// SetNotify turns the insert trigger's NOTIFY on or off for every writer
// (the row 'notify' of syncd_settings, which the trigger reads). Every
// instance writes its database.notify at start: give them the same value.
// It returns whether the switch was on before.
func (s *Store) SetNotify(ctx context.Context, on bool) (wasOn bool, err error) {
	if s.pg == nil {
		if on {
			return false, ErrNoNotify
		}
		return false, nil
	}
	value := "off"
	if on {
		value = "on"
	}
	var was []string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT value FROM syncd_settings WHERE name = 'notify' FOR UPDATE`).Scan(&was).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO syncd_settings (name, value) VALUES ('notify', ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, value).Error
	})
	if err != nil {
		return false, fmt.Errorf("set the insert notification %s: %w", value, err)
	}
	return len(was) == 1 && was[0] == "on", nil
}

// ListenEvents are what Listen reports besides the wake-ups; nil fields
// are ignored.
type ListenEvents struct {
	Error     func(error) // the connection was lost or could not be made
	Listening func()      // LISTEN is in place, after each (re)connect
}

// Listen calls wake for every notification of new rows, and once after
// each (re)connect, for rows inserted while it was not listening. It runs
// on a connection of its own, outside the pool, reconnecting after
// retryEvery when the connection is lost, until ctx ends. Its owner runs
// it in a goroutine and waits for it to return.
func (s *Store) Listen(ctx context.Context, wake func(), retryEvery time.Duration, ev ListenEvents) error {
	if s.pg == nil {
		return ErrNoNotify
	}
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.ConnectConfig(ctx, s.pg.Copy())
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil && ev.Error != nil {
				ev.Error(err)
			}
		},
		ReconnectDelay: retryEvery,
	}
	l.Handle(NotifyChannel, wakeHandler(func(backlog bool) {
		if backlog && ev.Listening != nil {
			ev.Listening()
		}
		wake()
	}))
	if err := l.Listen(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("listen for new rows: %w", err)
	}
	return nil
}

// wakeHandler wakes on each notification and on the backlog (LISTEN is in
// place before HandleBacklog runs, so nothing falls between).
type wakeHandler func(backlog bool)

func (w wakeHandler) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	w(false)
	return nil
}

func (w wakeHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	w(true)
	return nil
}
