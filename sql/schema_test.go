package schema

import (
	"strings"
	"testing"
)

func TestStatementsSplitsOnLineEndSemicolons(t *testing.T) {
	got := Statements("-- header; with a semicolon\nCREATE TABLE a (\n  x INT -- note\n);\n\nCREATE INDEX i ON a (x);\n")
	if len(got) != 2 || !strings.HasPrefix(got[0], "CREATE TABLE a") || got[1] != "CREATE INDEX i ON a (x)" {
		t.Fatalf("got %q", got)
	}
}

// Both dialects carry the same numbered migrations, each with a header.
func TestDialectsInStep(t *testing.T) {
	my, err := Migrations(MySQL)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(my) != len(lite) || len(my) == 0 {
		t.Fatalf("%d mysql vs %d sqlite migrations", len(my), len(lite))
	}
	for i := range my {
		if my[i].Name != lite[i].Name {
			t.Errorf("migration %d: %s vs %s", i, my[i].Name, lite[i].Name)
		}
		for _, m := range []Migration{my[i], lite[i]} {
			if !strings.HasPrefix(m.SQL, "-- "+m.Name) {
				t.Errorf("%s does not start with a header comment naming it", m.Name)
			}
		}
	}
}
