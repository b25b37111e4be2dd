package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// go-redis's messages become slog records: DEBUG, without go-redis's own
// "redis: " prefix, tagged with their component; nothing at INFO.
func TestRedisLoggerGoesThroughSlog(t *testing.T) {
	var buf bytes.Buffer
	l := redisLogger{log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With(slog.String("component", "go-redis"))}
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s", 5, "refused")
	got := buf.String()
	for _, want := range []string{`"level":"DEBUG"`, `"msg":"connection pool: failed to dial after 5 attempts: refused"`, `"component":"go-redis"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %s lacks %s", got, want)
		}
	}
	buf.Reset()
	quiet := redisLogger{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	quiet.Printf(nil, "redis: dial failed") //nolint:staticcheck // go-redis may pass a nil context
	if buf.Len() != 0 {
		t.Errorf("at INFO level the dial failure was logged: %s", buf.String())
	}
}
