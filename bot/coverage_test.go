package bot

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A model whose intents have no answer, or answers for intents the model
// does not know, start (and reload) with a warning that names them.
func TestCoverageWarnings(t *testing.T) {
	requireRuntime(t)
	shipped, err := os.ReadFile(answersPath)
	if err != nil {
		t.Fatal(err)
	}
	full, err := ParseAnswers(shipped)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped answers cover the shipped model: no warning at all.
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := New(context.Background(), Options{Answers: shipped, PollInterval: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("the shipped model and answers warn:\n%s", logs.String())
	}
	if len(full.Intents) < 3 {
		t.Fatalf("shipped answers have %d intents", len(full.Intents))
	}

	// Drop refund and greeting, misspell order_status.
	var b strings.Builder
	b.WriteString("intents:\n")
	for intent, a := range full.Intents {
		switch intent {
		case "refund", "greeting":
			continue
		case "order_status":
			intent = "order_stauts"
		}
		b.WriteString("  " + intent + ":\n    reply: " + quote(a.Reply.In("en", "en")) + "\n")
	}
	path := filepath.Join(t.TempDir(), "answers.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	s, err = New(context.Background(), Options{AnswersPath: path, PollInterval: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkWarned := func(when string) {
		t.Helper()
		out := logs.String()
		if !strings.Contains(out, `intents="[greeting order_status refund]"`) || !strings.Contains(out, "without an answer") {
			t.Errorf("%s: no warning naming greeting, order_status and refund as unanswered:\n%s", when, out)
		}
		if !strings.Contains(out, `intents=[order_stauts]`) || !strings.Contains(out, "does not know") {
			t.Errorf("%s: no warning naming order_stauts as unknown to the model:\n%s", when, out)
		}
	}
	checkWarned("start")
	logs.Reset()
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, []byte(b.String()+"\n"))
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkWarned("reload")
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
