package bot

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/internal/freelist"
)

// maxTextBytes caps the text a message is classified on, and so the cache
// key. The intent of a customer message is in its first sentences; a 64 KiB
// paste would cost milliseconds to featurise, dilute the features and bloat
// the cache.
const maxTextBytes = 2000

// key is the normalised, truncated text a message is classified (and
// cached) by; "" means there is nothing to classify.
func key(body string) string {
	return truncate(featurize.Normalize(body), maxTextBytes)
}

// Result is the model's verdict on one text.
type Result struct {
	Intent     string
	Confidence float64
}

// classifier is one loaded model: featuriser, labels, ONNX Runtime session
// and the answer cache that belongs to exactly this model. It never changes
// after newClassifier; a reload builds a new one. Users hold mu for reading
// while they run the session; retire takes it for writing, so the session is
// destroyed only once nobody is using it.
type classifier struct {
	source string // file path, or "built-in"
	stamp  fileStamp
	model  *nn.Model // labels and features; the weights live in sess
	feat   *featurize.Featurizer
	sess   *onnxrt.Session
	cache  *lru.Cache[string, Result] // nil: caching off

	mu     sync.RWMutex
	closed bool
}

func newClassifier(data []byte, source string, stamp fileStamp, cacheSize int, opt onnxrt.SessionOptions) (*classifier, error) {
	m, err := nn.UnmarshalONNX(data)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", source, err)
	}
	feat, err := featurize.New(m.Features)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", source, err)
	}
	// The session always gets the current format (sparse input); a model
	// file in an older format has the same weights.
	current := data
	if m.FromOldFormat {
		if current, err = m.MarshalONNX(); err != nil {
			return nil, fmt.Errorf("load model %s: %w", source, err)
		}
	}
	sess, err := onnxrt.NewSession(current, nn.IndicesName, nn.ValuesName, nn.OutputName, m.Classes(), opt)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", source, err)
	}
	m.Layers = nil // the session has its own copy of the weights; keep one
	c := &classifier{source: source, stamp: stamp, model: m, feat: feat, sess: sess}
	if cacheSize > 0 {
		c.cache, _ = lru.New[string, Result](cacheSize) // errors only for size <= 0
	}
	return c, nil
}

// acquire takes a read hold on c; false means c was retired meanwhile.
func (c *classifier) acquire() bool {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return false
	}
	return true
}

func (c *classifier) release() { c.mu.RUnlock() }

// retire waits for the calls holding c, then destroys the session.
func (c *classifier) retire() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.sess.Close()
}

// classify returns a Result per key: cached ones from the LRU,
// the rest from one batched ONNX Runtime run, and how many came from the
// cache. The caller holds c.
func (c *classifier) classify(texts []string) ([]Result, int, error) {
	out := make([]Result, len(texts))
	var miss []int
	for i, t := range texts {
		if c.cache != nil && len(t) <= maxCachedBytes {
			if r, ok := c.cache.Get(t); ok {
				out[i] = r
				continue
			}
		}
		miss = append(miss, i)
	}
	hits := len(texts) - len(miss)
	if len(miss) == 0 {
		return out, hits, nil
	}
	classes := c.model.Classes()
	b := freeBatches.Get()
	defer freeBatches.Put(b)
	b.vecs = c.featurize(texts, miss, b.vecs)
	b.y = slices.Grow(b.y[:0], len(miss)*classes)[:len(miss)*classes]
	y := b.y
	// One run per runRows messages: the first layer gathers a weight row
	// per feature of every message ([rows, nnz, hidden] floats), which for
	// a whole relay batch is tens of MiB and leaves the caches; runs of
	// runRows keep it in them and pad each run only to its own longest
	// message.
	for lo := 0; lo < len(miss); lo += runRows {
		hi := min(lo+runRows, len(miss))
		var nnz int
		b.idx, b.val, nnz = sparseBatch(b.vecs[lo:hi], b.idx, b.val)
		if err := c.sess.Run(b.idx, b.val, hi-lo, nnz, y[lo*classes:hi*classes]); err != nil {
			return nil, 0, err
		}
	}
	for r, i := range miss {
		best, p := nn.Argmax(y[r*classes : (r+1)*classes])
		out[i] = Result{Intent: c.model.Labels[best], Confidence: float64(p)}
		if c.cache != nil && len(texts[i]) <= maxCachedBytes {
			c.cache.Add(texts[i], out[i])
		}
	}
	return out, hits, nil
}

// runRows is the most messages per ONNX Runtime run (see classify);
// docs/benchmarks-bot.md has the measurements behind it.
const runRows = 64

// maxCachedBytes is the longest normalised text the answer cache keeps.
// The messages customers repeat word for word are short ("hi", "thanks",
// "where is my order?"); a long one almost never comes again, and caching
// it only churns the cache and the garbage collector.
const maxCachedBytes = 128

// rowsPerWorker is the least work worth a goroutine: featurising a message
// takes 1-7µs, starting a goroutine ~1µs. A second worker starts at twice
// this many messages.
const rowsPerWorker = 64

// batch holds one classify call's buffers. They are kept between calls: a
// relay batch of 500 messages of 200 bytes needs a few MiB of them, and
// allocating them per call kept the garbage collector busy on the relay's
// cores.
type batch struct {
	vecs []featurize.Vector
	idx  []int64
	val  []float32
	y    []float32
}

// freeBatches holds about one batch per relay worker (poller.workers, 2 by
// default); more workers allocate the rest. At most 64 MiB stay pinned.
var freeBatches = freelist.New(4, func() *batch { return new(batch) }, (*batch).small)

// maxKeptBatchBytes keeps a batch of unusually long messages from pinning
// its buffers for good.
const maxKeptBatchBytes = 16 << 20

// small says whether b's buffers are worth keeping.
func (b *batch) small() bool {
	size := 8*cap(b.idx) + 4*cap(b.val) + 4*cap(b.y)
	for _, v := range b.vecs[:cap(b.vecs)] {
		size += 4*cap(v.Index) + 4*cap(v.Value)
	}
	return size <= maxKeptBatchBytes
}

// sparseBatch lays out feature vectors as the model's inputs, reusing idx
// and val: n rows of nnz (index, value) pairs, nnz the longest vector's
// length, shorter rows padded with feature 0 at value 0.
func sparseBatch(vecs []featurize.Vector, idx []int64, val []float32) ([]int64, []float32, int) {
	nnz := 1
	for _, v := range vecs {
		nnz = max(nnz, len(v.Index))
	}
	n := len(vecs) * nnz
	idx = slices.Grow(idx[:0], n)[:n]
	val = slices.Grow(val[:0], n)[:n]
	for r, v := range vecs {
		ri, rv := idx[r*nnz:(r+1)*nnz], val[r*nnz:(r+1)*nnz]
		for k, j := range v.Index {
			ri[k] = int64(j)
		}
		copy(rv, v.Value)
		clear(ri[len(v.Index):])
		clear(rv[len(v.Value):])
	}
	return idx, val, nnz
}

// featurize writes the features of texts[miss[r]] into vecs[r], reusing
// vecs and their storage, and returns vecs. A big batch is split over the
// cores.
func (c *classifier) featurize(texts []string, miss []int, vecs []featurize.Vector) []featurize.Vector {
	if cap(vecs) < len(miss) {
		vecs = append(vecs[:cap(vecs)], make([]featurize.Vector, len(miss)-cap(vecs))...)
	}
	vecs = vecs[:len(miss)]
	workers := max(1, min(runtime.GOMAXPROCS(0), len(miss)/rowsPerWorker))
	var wg sync.WaitGroup
	rows := func(w int) {
		for r := len(miss) * w / workers; r < len(miss)*(w+1)/workers; r++ {
			c.feat.TransformNormalized(texts[miss[r]], &vecs[r])
		}
	}
	for w := 1; w < workers; w++ {
		wg.Go(func() { rows(w) })
	}
	rows(0)
	wg.Wait()
	return vecs
}

// truncate cuts s to at most n bytes at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
