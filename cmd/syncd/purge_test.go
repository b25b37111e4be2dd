package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/internal/dbtime"
)

// `syncd purge --dry-run` shows per table how many rows a pass would
// delete and their oldest and newest time, and deletes nothing; `syncd
// purge` then deletes them.
func TestPurgeDryRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "syncd.db")
	t.Setenv("SYNCD_DATABASE_DSN", db)
	t.Setenv("SYNCD_RETENTION_SENT_ROWS", "24h")
	t.Setenv("SYNCD_RETENTION_REPLIES_DONE", "48h")
	cfg := config.Default()
	cfg.Database.DSN = db
	ctx := context.Background()
	st, err := openOrCreateStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	oldest := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newest := oldest.Add(26 * time.Hour)
	at := func(t time.Time) any { return dbtime.Arg(true, t) }
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO message_sync (conversation_key, body, status, processed_at) VALUES ('a', 'x', 'sent', ?), ('a', 'y', 'sent', ?), ('a', 'z', 'sent', ?)`,
			[]any{at(oldest), at(newest), at(time.Now())}},
		{`INSERT INTO message_sync (conversation_key, body, status, processed_at) VALUES ('a', 'p', 'pending', ?), ('a', 'q', 'processing', ?)`,
			[]any{at(oldest), at(oldest)}},
		{`INSERT INTO message_reply (conversation_key, body, status, author_type, author_name, done_at) VALUES ('a', 'r', 'done', 'agent', 'ann', ?)`,
			[]any{at(oldest)}},
	} {
		if err := st.Gorm().Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	run := func(args ...string) string {
		t.Helper()
		app := newApp()
		var out, errOut bytes.Buffer
		app.Writer, app.ErrWriter = &out, &errOut
		if err := app.Run(append([]string{"syncd"}, args...)); err != nil {
			t.Fatalf("syncd %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		}
		return out.String()
	}
	out := run("purge", "--dry-run")
	for table, want := range map[string][]string{
		"message_sync":  {"sent rows", " 2 ", "2026-01-02 03:04:05Z", "2026-01-03 05:04:05Z"},
		"message_reply": {"replies done", " 1 ", "2026-01-02 03:04:05Z  2026-01-02 03:04:05Z"},
	} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, table) {
				line = l
			}
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				t.Errorf("dry run: %s line %q lacks %q\n%s", table, line, w, out)
			}
		}
	}
	if strings.Contains(out, "failed rows") || strings.Contains(out, "chat_messages") {
		t.Errorf("dry run lists kinds this configuration keeps forever:\n%s", out)
	}
	if out := run("purge", "--dry-run"); !strings.Contains(out, " 2 ") {
		t.Errorf("a dry run deleted rows:\n%s", out)
	}
	out = run("purge")
	if !strings.Contains(out, "sent rows") || !strings.Contains(out, " 2 ") {
		t.Errorf("purge did not report its 2 sent rows:\n%s", out)
	}
	st, err = openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var left []string
	if err := st.Gorm().Raw(`SELECT body FROM message_sync ORDER BY id`).Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if strings.Join(left, ",") != "z,p,q" {
		t.Errorf("rows left %v, want the recent sent row and the pending and processing ones", left)
	}
}
