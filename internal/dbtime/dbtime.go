// Package dbtime binds and scans time values the same way on MySQL and
// SQLite, for the relay store and the console store alike.
//
// Every time syncd handles is UTC. On MySQL and MariaDB syncd's sessions
// run at time_zone '+00:00' (store.Open), so what it binds and what it
// reads, DATETIME or TIMESTAMP, is UTC whatever the server's global zone.
// On SQLite times are text; text without an offset is UTC, as SQLite's own
// date functions take it.
package dbtime

import (
	"fmt"
	"strings"
	"time"
)

// SQLiteLayout is how times are written to SQLite: UTC text that sorts like
// the schema's defaults, so that comparisons in SQL work on text.
const SQLiteLayout = "2006-01-02 15:04:05.000000"

// Arg returns t as a query argument: text on SQLite, a UTC time.Time on
// MySQL. Both keep microseconds, as DATETIME(6) does; cutting them here,
// not in the server, matters because MySQL rounds the extra digits (a value
// stored 1 µs later than the one pushed) where MariaDB drops them.
func Arg(sqlite bool, t time.Time) any {
	if sqlite {
		return t.UTC().Format(SQLiteLayout)
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Time scans a time as either driver gives it: time.Time (MySQL with
// parseTime, SQLite DATETIME columns) or text (SQLite expressions, MySQL
// without parseTime). NULL leaves it zero. It is for columns syncd writes:
// a value it cannot read is an error.
type Time struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
	case time.Time:
		t.Time = x.UTC()
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	default:
		return fmt.Errorf("scan time from %T", v)
	}
	return nil
}

// WriterTime scans a time a legacy writer may have set (message_sync's
// created_at). It never fails: a value it cannot read (SQLite text that is
// no time, a number; MySQL's zero date, which an empty sql_mode stores for
// a bad literal; a year outside 1-9999) leaves it zero with Valid false, so one row's bad time
// cannot stop a claim or `syncd status`.
type WriterTime struct {
	time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (t *WriterTime) Scan(v any) error {
	var s Time
	// Outside years 1-9999 (PostgreSQL takes '0044-03-15 BC' and years
	// past 9999) a time has no JSON or RFC 3339 form: the console could
	// not send the conversation, so it is a time syncd cannot read.
	if err := s.Scan(v); err != nil || s.IsZero() || s.Year() < 1 || s.Year() > 9999 {
		*t = WriterTime{}
		return nil
	}
	*t = WriterTime{Time: s.Time, Valid: true}
	return nil
}

// layouts are the text forms SQLite's date functions accept (with a "Z" or
// "±HH:MM" suffix or without, which is UTC), plus RFC 3339.
var layouts = []string{
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

func (t *Time) parse(s string) error {
	s = strings.TrimSpace(s)
	for _, layout := range layouts {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time %q: unknown format", s)
}
