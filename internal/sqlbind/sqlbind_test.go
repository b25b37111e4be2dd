package sqlbind

import "testing"

func TestDollar(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":                               "SELECT 1",
		"WHERE a = ? AND b IN (?, ?)":            "WHERE a = $1 AND b IN ($2, $3)",
		"INSERT INTO t (k) VALUES (?) -- café ?": "INSERT INTO t (k) VALUES ($1) -- café $2",
	} {
		if got := Dollar(in); got != want {
			t.Errorf("Dollar(%q) = %q, want %q", in, got, want)
		}
	}
}
