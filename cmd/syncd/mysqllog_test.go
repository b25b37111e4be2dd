package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The MySQL driver's messages become slog records at WARN, tagged with
// their component, in syncd's format instead of the driver's "[mysql]"
// lines on stderr: a server that hangs up during the handshake makes the
// real driver log.
func TestMySQLLoggerGoesThroughSlog(t *testing.T) {
	var buf syncBuffer
	installMySQLLogger(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { installMySQLLogger(slog.New(slog.DiscardHandler)) })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close() // hang up before the greeting
		}
	}()
	db, err := sql.Open("mysql", "root@tcp("+l.Addr().String()+")/test")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping of a server that hangs up succeeded")
	}
	got := buf.String()
	for _, want := range []string{`"level":"WARN"`, `"component":"mysql"`, `EOF`} {
		if !strings.Contains(got, want) {
			t.Errorf("driver log %q lacks %s", got, want)
		}
	}
}
