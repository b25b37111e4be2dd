package bot

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/bot/train"
	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
)

// benchMessages returns n distinct customer messages built from the
// shipped training data, so the cache never answers (each gets a suffix).
func benchMessages(b *testing.B, n int) []bridge.Inbound {
	b.Helper()
	ex, err := train.ReadCSVFile("model/train.csv")
	if err != nil {
		b.Fatal(err)
	}
	in := make([]bridge.Inbound, n)
	for i := range in {
		in[i] = bridge.Inbound{Kind: chat.KindMessage, Body: fmt.Sprintf("%s #%d", ex[i%len(ex)].Text, i)}
	}
	return in
}

// relayMessages returns n distinct messages shaped like the body of syncd
// bench relay (bench/scratch.go): "#i" and a sentence, 200 bytes in all.
func relayMessages(n int) []bridge.Inbound {
	in := make([]bridge.Inbound, n)
	for i := range in {
		text := fmt.Sprintf("#%d%s", i, strings.Repeat(" Hello, I ordered a blue kettle last week and it has still not arrived; could you tell me where it is?", 2))
		in[i] = bridge.Inbound{Kind: chat.KindMessage, Body: text[:200]}
	}
	return in
}

// reportPercentiles adds p50 and p99 of per-op durations to the results.
func reportPercentiles(b *testing.B, d []time.Duration, per int, unit string) {
	slices.Sort(d)
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / float64(per) }
	b.ReportMetric(p(0.50), "p50-ns/"+unit)
	b.ReportMetric(p(0.99), "p99-ns/"+unit)
}

// BenchmarkAssessBatch1 is one message per Assess, featurisation and one
// ONNX Runtime run included, cache off: the latency of a quiet relay.
func BenchmarkAssessBatch1(b *testing.B) {
	s := newTestService(b, Options{CacheSize: -1})
	in := benchMessages(b, 4096)
	ctx := context.Background()
	d := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := s.Assess(ctx, in[i%len(in):i%len(in)+1]); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	reportPercentiles(b, d, 1, "msg")
}

// BenchmarkAssessBatch500 is a full relay batch: 500 messages, one batched
// inference, cache off. "shop" is the shipped training utterances (about
// 30 bytes each); "200B" is the body of syncd bench relay, whose bot-on
// throughput this cost decides.
func BenchmarkAssessBatch500(b *testing.B) {
	s := newTestService(b, Options{CacheSize: -1})
	for _, tc := range []struct {
		name string
		in   []bridge.Inbound
	}{{"shop", benchMessages(b, 500)}, {"200B", relayMessages(500)}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			d := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				if _, err := s.Assess(ctx, tc.in); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(start))
			}
			reportPercentiles(b, d, 1, "batch")
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/500, "ns/msg")
		})
	}
}

// BenchmarkAssessCacheHit is one message whose normalised text is cached.
func BenchmarkAssessCacheHit(b *testing.B) {
	s := newTestService(b, Options{})
	in := []bridge.Inbound{{Kind: chat.KindMessage, Body: "Where is my order?"}}
	ctx := context.Background()
	if _, err := s.Assess(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Assess(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkModelLoad is what a hot reload costs: decode the built-in model
// and create its ONNX Runtime session.
func BenchmarkModelLoad(b *testing.B) {
	requireRuntime(b)
	lib, _ := onnxrt.LibraryPath("")
	if err := onnxrt.Init(lib); err != nil {
		b.Fatal(err)
	}
	data := model.Default()
	b.ReportAllocs()
	for b.Loop() {
		c, err := newClassifier(data, "built-in", fileStamp{}, DefaultCacheSize, onnxrt.SessionOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.retire(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
}

// BenchmarkONNXRunBatch500 is the inference alone for a relay batch: the
// sparse input of 500 messages is built once. Set against
// BenchmarkAssessBatch500 it shows what featurisation costs.
func BenchmarkONNXRunBatch500(b *testing.B) {
	s := newTestService(b, Options{CacheSize: -1})
	c, err := s.acquire()
	if err != nil {
		b.Fatal(err)
	}
	defer c.release()
	for _, tc := range []struct {
		name string
		in   []bridge.Inbound
	}{{"shop", benchMessages(b, 500)}, {"200B", relayMessages(500)}} {
		b.Run(tc.name, func(b *testing.B) {
			texts := make([]string, len(tc.in))
			miss := make([]int, len(tc.in))
			for i, m := range tc.in {
				texts[i], miss[i] = featurize.Normalize(m.Body), i
			}
			idx, val, nnz := sparseBatch(c.featurize(texts, miss, nil), nil, nil)
			y := make([]float32, len(tc.in)*c.model.Classes())
			b.ReportAllocs()
			for b.Loop() {
				if err := c.sess.Run(idx, val, len(tc.in), nnz, y); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(nnz), "nnz")
		})
	}
}

// BenchmarkAssessBatch1Banking77 is BenchmarkAssessBatch1 for a model of
// the shape `syncd bot train` gives banking77 by default: 78 intents and
// out_of_scope, four hidden layers of 128 over 2^13 features, the first
// layer in int8 (4.4 MB). The time depends on the shape, not the weights,
// so the weights are random and nothing is trained; the messages are
// banking77's test texts, one per Assess.
func BenchmarkAssessBatch1Banking77(b *testing.B) {
	ex, err := train.ReadCSVFile("testdata/banking77/test.csv")
	if err != nil {
		b.Fatal(err)
	}
	labels := append(train.Labels(ex), nn.OutOfScope)
	slices.Sort(labels)
	rng := rand.New(rand.NewPCG(1, 2))
	layer := func(in, out int) nn.Layer {
		l := nn.NewLayer(in, out)
		for i := range l.W {
			l.W[i] = float32(rng.NormFloat64() * 0.1)
		}
		return l
	}
	hidden := train.DefaultHidden * train.DefaultMembers
	m := &nn.Model{Labels: labels, Features: featurize.Config{Dims: 1 << 13, StripGreetings: true}.WithDefaults(),
		Layers: []nn.Layer{layer(1<<13, hidden), layer(hidden, len(labels))}}
	m.Layers[0].Quantize()
	data, err := m.MarshalONNX()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "banking77.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	s := newTestService(b, Options{CacheSize: -1, ModelPath: path})
	in := make([]bridge.Inbound, len(ex))
	for i, e := range ex {
		in[i] = bridge.Inbound{Kind: chat.KindMessage, Body: e.Text}
	}
	ctx := context.Background()
	d := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := s.Assess(ctx, in[i%len(in):i%len(in)+1]); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	reportPercentiles(b, d, 1, "msg")
	b.ReportMetric(float64(len(data))/1e6, "model-MB")
}
