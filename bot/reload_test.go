package bot

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/train"
	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
)

// smallModel trains a quick model on the shipped data, different from the
// built-in one in size and weights.
func smallModel(t testing.TB, hidden int, seed uint64) []byte {
	t.Helper()
	ex, err := train.ReadCSVFile("model/train.csv")
	if err != nil {
		t.Fatal(err)
	}
	m, err := train.Train(context.Background(), ex, train.Config{
		Features: featurize.Config{Dims: 1 << 12}, Hidden: hidden, Epochs: 3, Seed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replaceFile puts data at path the way a deploy should: write beside it,
// then rename over it.
func replaceFile(t testing.TB, path string, data []byte) fileStamp {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	st, err := statFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHotReloadUnderLoadDropsNothing(t *testing.T) {
	requireRuntime(t)
	models := [][]byte{model.Default(), smallModel(t, 0, 2)}
	path := filepath.Join(t.TempDir(), "model.onnx")
	replaceFile(t, path, models[0])
	s := newTestService(t, Options{ModelPath: path, PollInterval: time.Millisecond})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	in := []bridge.Inbound{
		{Kind: chat.KindMessage, Body: "where is my order"},
		{Kind: chat.KindMessage, Body: "我要退款"},
		{Kind: "order_created", Payload: []byte(`{"order_id": 42}`)},
		{Kind: chat.KindMessage, Body: "can I speak to a human"},
	}
	var calls, failures atomic.Int64
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for w := 0; w < 8; w++ {
		workers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := s.Assess(context.Background(), in)
				calls.Add(1)
				if err != nil || len(out) != len(in) || out[0].Intent == "" || out[2].AutoReply == "" {
					failures.Add(1)
					t.Errorf("Assess during reload: %d verdicts, err %v, %+v", len(out), err, out)
				}
			}
		})
	}

	served := func(st fileStamp) func() bool {
		return func() bool { c := s.cur.Load(); return c != nil && c.stamp == st }
	}
	swaps := 0
	for i := 1; i <= 6; i++ {
		st := replaceFile(t, path, models[i%2])
		if i%3 == 0 {
			// The SIGHUP path, racing the poller.
			if err := s.Reload(context.Background()); err != nil {
				t.Fatalf("Reload: %v", err)
			}
		}
		eventually(t, "the new model to be served", served(st))
		swaps++
		base := calls.Load()
		eventually(t, "calls on the new model", func() bool { return calls.Load() > base+10 })
	}

	if n := s.Stats().ReloadFailures; n != 0 {
		t.Errorf("%d reload failures counted for good files", n)
	}
	// A broken file: the poller logs and keeps the model in service, and
	// Reload reports why.
	before := s.cur.Load()
	replaceFile(t, path, []byte("this is not an onnx model"))
	if err := s.Reload(context.Background()); err == nil {
		t.Error("Reload of a garbage model file returned nil")
	}
	base := calls.Load()
	eventually(t, "calls after the broken file", func() bool { return calls.Load() > base+10 })
	if s.cur.Load() != before {
		t.Error("a broken model file replaced the model in service")
	}
	// Reload's try, and the poller's if it came first.
	if n := s.Stats().ReloadFailures; n < 1 || n > 2 {
		t.Errorf("%d reload failures counted for one broken file, want 1 or 2", n)
	}
	// And a good file after it is picked up again.
	st := replaceFile(t, path, models[1])
	eventually(t, "recovery after the broken file", served(st))

	close(stop)
	workers.Wait()
	cancel()
	wg.Wait()
	t.Logf("%d Assess calls across %d swaps and one broken file, %d failed", calls.Load(), swaps, failures.Load())
}
