package chatcore_test

import (
	"context"
	"log"
	"net/http"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatstore"
)

// How `syncd run` wires the console: a Core on the database and (when
// configured) Redis, its Handler on the HTTP server, Run until shutdown,
// and Core as the relay's bridge.Publisher.
func Example() {
	var db *gorm.DB      // the relay's database
	var rc *redis.Client // nil without redis.addr
	secret := []byte("console.session_secret: 32 bytes or more of random")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := chatstore.New(db)
	if err != nil {
		log.Fatal(err)
	}
	core, err := chatcore.New(chatcore.Options{
		DB:             st,
		Broker:         broker.NewRedis(rc, broker.RedisOptions{}),
		SessionSecret:  secret,
		AllowedOrigins: []string{"https://console.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = core.Run(ctx) }() // returns after closing every socket with 1001
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: core.Handler()}
	go func() { _ = srv.ListenAndServe() }()
	// relay := ...(core) // core.Publish after each committed batch
	<-ctx.Done()
	_ = srv.Shutdown(context.Background())
	_ = core.Close()
}
