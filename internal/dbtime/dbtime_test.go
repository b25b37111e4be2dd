package dbtime

import (
	"testing"
	"time"
)

func TestScanEveryFormatTheDriversGive(t *testing.T) {
	want := time.Date(2026, 11, 27, 14, 5, 6, 123456000, time.UTC)
	for _, v := range []any{
		want.In(time.FixedZone("CET", 3600)),
		"2026-11-27 14:05:06.123456",
		[]byte("2026-11-27 14:05:06.123456"),
		"2026-11-27T14:05:06.123456Z",
		"2026-11-27 15:05:06.123456+01:00",
		"2026-11-27T14:05:06.123456",
		"2026-11-27 14:05:06.123456Z",
		"2026-11-27T22:05:06.123456+08:00",
		"2026-11-27 09:05:06.123456-05:00",
		" 2026-11-27 14:05:06.123456 ",
	} {
		var got Time
		if err := got.Scan(v); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, %v; want %v in UTC", v, got.Time, err, want)
		}
	}
	var null Time
	if err := null.Scan(nil); err != nil || !null.IsZero() {
		t.Errorf("Scan(nil) = %v, %v", null.Time, err)
	}
	if err := null.Scan("yesterday"); err == nil {
		t.Error("Scan accepted an unknown format")
	}
	if got := Arg(true, want); got != "2026-11-27 14:05:06.123456" {
		t.Errorf("Arg(sqlite) = %v", got)
	}
}

// Arguments carry microseconds on both dialects, so a server that rounds
// the rest (MySQL) stores what the caller keeps.
func TestArgKeepsMicroseconds(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	if got := Arg(false, at).(time.Time); !got.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("MySQL argument %v, want %v", got, at.Truncate(time.Microsecond))
	}
	if got := Arg(true, at).(string); got != "2026-11-27 10:00:00.123456" {
		t.Errorf("SQLite argument %q", got)
	}
}

// The text forms SQLite's date functions accept, down to a bare date.
func TestScanShortSQLiteForms(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-11-27 14:05":       time.Date(2026, 11, 27, 14, 5, 0, 0, time.UTC),
		"2026-11-27T22:05+08:00": time.Date(2026, 11, 27, 14, 5, 0, 0, time.UTC),
		"2026-11-27":             time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
	} {
		var got Time
		if err := got.Scan(in); err != nil || !got.Equal(want) {
			t.Errorf("Scan(%q) = %v, %v; want %v", in, got.Time, err, want)
		}
	}
}

// A time a legacy writer set is read when it can be and is otherwise
// unknown, never an error that would stop a claim.
func TestWriterTimeNeverFails(t *testing.T) {
	want := time.Date(2026, 11, 27, 14, 5, 6, 0, time.UTC)
	for _, tt := range []struct {
		in    any
		valid bool
	}{
		{"2026-11-27 22:05:06+08:00", true},
		{want, true},
		{nil, false},
		{"", false},
		{"yesterday", false},
		{[]byte("0000-00-00 00:00:00"), false},
		{time.Time{}, false}, // MySQL's zero date with parseTime
		{int64(1764252306), false},
		{2461007.08, false},
		{time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC), false}, // PostgreSQL's '0044-03-15 BC'
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		var got WriterTime
		if err := got.Scan(tt.in); err != nil {
			t.Errorf("Scan(%v): %v", tt.in, err)
		}
		if got.Valid != tt.valid || (tt.valid && !got.Equal(want)) || (!tt.valid && !got.IsZero()) {
			t.Errorf("Scan(%v) = %v (valid %v)", tt.in, got.Time, got.Valid)
		}
	}
}
