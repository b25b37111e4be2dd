// Package sqlbind turns the ? placeholders that syncd's statements are
// written with into PostgreSQL's numbered ones, for code that talks to
// database/sql directly (gorm does this itself).
package sqlbind

import (
	"strconv"
	"strings"
)

// Dollar returns q with each ? replaced by $1, $2, … in order. The
// statements it is given have no ? inside string literals or comments.
func Dollar(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
