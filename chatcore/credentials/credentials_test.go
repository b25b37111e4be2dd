package credentials

import (
	"strings"
	"testing"
)

func TestValidateUsername(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"a.b-c_d9", true}, {"9lives", true},
		{"", false}, {"Alice", false}, {".alice", false}, {"al ice", false}, {"alice@x", false},
		{strings.Repeat("a", 64), true}, {strings.Repeat("a", 65), false},
	} {
		if err := ValidateUsername(tc.name); (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.name, err)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("short password hashed")
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("73-byte password hashed")
	}
}

// Check: the right password matches, a wrong one does not, and an
// unknown agent ("" hash) is refused.
func TestCheck(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !Check(h, "correct horse battery") || Check(h, "wrong horse battery") || Check("", "correct horse battery") {
		t.Fatal("Check disagrees with bcrypt")
	}
}
