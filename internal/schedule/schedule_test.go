package schedule

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		ok   bool
	}{
		{"@every 1s", true},
		{"@every 100ms", true},
		{" @every 250ms ", true},
		{"@every 1m30s", true},
		{"*/5 * * * * *", true},
		{"0 * * * *", true},
		{"@hourly", true},
		{"CRON_TZ=UTC 0 */2 * * *", true},
		{"", false},
		{"bogus", false},
		{"every second", false},
		{"@every", false},
		{"@every 0s", false},
		{"@every 0", false},
		{"@every -1s", false},
		{"@every nonsense", false},
		{"@every  1s", true}, // the duration is trimmed
		{"@sometimes", false},
		{"61 * * * *", false},
		{"* * * * * * *", false},
		{"TZ=Nowhere/Land 0 * * * *", false},
		{"0 0 30 2 *", false}, // 30 February: never fires
		{"TZ=UTC", false},     // cron itself panics on this
	} {
		s, err := Parse(tc.spec)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q): err %v, want ok=%v", tc.spec, err, tc.ok)
		}
		if err == nil && s == nil {
			t.Errorf("Parse(%q): nil schedule without an error", tc.spec)
		}
	}
}

// @every means what it says; cron alone rounds to whole seconds.
func TestEveryIsExact(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{100 * time.Millisecond, 1500 * time.Millisecond, time.Minute} {
		s, err := Parse("@every " + d.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(now).Sub(now); got != d {
			t.Errorf("@every %v: next in %v", d, got)
		}
	}
}
