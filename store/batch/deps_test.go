package batch_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The console server and the bot link no database code: the relay's types
// they see come from this package, not from the store.
func TestConsoleAndBotLinkNoDatabaseCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/syncd-dev/syncd/chatcore", "github.com/syncd-dev/syncd/bot").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"gorm.io/", "github.com/go-sql-driver/", "github.com/jackc/pgx", "github.com/glebarez/", "modernc.org/sqlite",
			"github.com/syncd-dev/syncd/store", "github.com/syncd-dev/syncd/chatstore", "github.com/syncd-dev/syncd/sql"} {
			if dep == banned || strings.HasPrefix(dep, banned) && dep != "github.com/syncd-dev/syncd/store/batch" {
				t.Errorf("chatcore or bot depends on %s", dep)
			}
		}
	}
}
