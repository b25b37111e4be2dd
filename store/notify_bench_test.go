package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/syncd-dev/syncd/internal/testdb"
)

// BenchmarkWriterInserts is the legacy writers' side of database.notify on
// PostgreSQL: 8 writers each INSERT one row per autocommitted transaction,
// with the trigger's NOTIFY off and on (a transaction that notifies takes
// a global lock at commit). b.N is the rows inserted; compare ns/op.
//
//	go test -run '^$' -bench WriterInserts -benchtime 20000x ./store
func BenchmarkWriterInserts(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("notify=%v", on), func(b *testing.B) {
			db := testdb.New(b, "postgres")
			if _, err := db.Store.SetNotify(context.Background(), on); err != nil {
				b.Fatal(err)
			}
			const writers = 8
			db.Raw.SetMaxOpenConns(writers)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if _, err := db.Raw.Exec(`INSERT INTO message_sync (conversation_key, body) VALUES (?, 'hello')`, fmt.Sprintf("conv-%d", i%100)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}
