package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// mysqlLogger sends the MySQL driver's own messages, which it otherwise
// prints to stderr as "[mysql] <date> packets.go:37: unexpected EOF"
// whatever log.format says, to syncd's slog logger.
//
// They go out at WARN: the driver logs only what it could not return as
// an error (a connection the server closed under it, a bad packet), and
// database/sql retries those on another connection, so they explain a
// hiccup rather than report an outage (that is "dependency unreachable",
// once, with /readyz and syncd_dependency_up).
type mysqlLogger struct{ log *slog.Logger }

func (l mysqlLogger) Print(v ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	l.log.Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprint(v...)))
}

// installMySQLLogger makes log, with component=mysql, the MySQL driver's
// logger. The logger is global to the driver: the last call wins.
func installMySQLLogger(log *slog.Logger) {
	_ = mysql.SetLogger(mysqlLogger{log: log.With(slog.String("component", "mysql"))})
}
