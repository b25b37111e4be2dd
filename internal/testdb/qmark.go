package testdb

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/syncd-dev/syncd/internal/sqlbind"
)

// The tests' own SQL (the "legacy writer" of Raw, the checks of what a
// table holds) is written once with ? placeholders for every dialect. On
// PostgreSQL, Raw goes through the driver "pgx-qmark", which is pgx with
// each ? turned into $1, $2, … (the tests put no ? inside literals).
func init() { sql.Register("pgx-qmark", qmarkDriver{stdlib.GetDefaultDriver()}) }

func rebind(q string) string { return sqlbind.Dollar(q) }

type qmarkDriver struct{ driver.Driver }

func (d qmarkDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return qmarkConn{c}, nil
}

// qmarkConn passes everything to pgx's connection, rebinding queries.
type qmarkConn struct{ driver.Conn }

func (c qmarkConn) Prepare(q string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(q)) }

func (c qmarkConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, rebind(q))
}

func (c qmarkConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c qmarkConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, rebind(q), args)
}

func (c qmarkConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, rebind(q), args)
}

func (c qmarkConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c qmarkConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c qmarkConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c qmarkConn) CheckNamedValue(v *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(v)
	}
	return driver.ErrSkip
}
