// Package dbtime binds and scans DATETIME values the same way on MySQL and
// SQLite, for the relay store and the console store alike.
package dbtime

import (
	"fmt"
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

// Time scans a DATETIME as either driver gives it: time.Time (MySQL with
// parseTime, SQLite DATETIME columns) or text (SQLite expressions, MySQL
// without parseTime). NULL leaves it zero.
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

var layouts = []string{
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999",
}

func (t *Time) parse(s string) error {
	for _, layout := range layouts {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("scan time %q: unknown format", s)
}
