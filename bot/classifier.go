package bot

import (
	"fmt"
	"runtime"
	"sync"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/onnxrt"
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

	// bufs holds dense input buffers that are all zeros between uses:
	// run sets the few non-zero features and clears exactly those again,
	// rather than zeroing N×Dims floats per batch.
	bufs sync.Pool

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
	sess, err := onnxrt.NewSession(data, nn.InputName, nn.OutputName, m.Features.Dims, m.Classes(), opt)
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
// the rest from one batched ONNX Runtime run. The caller holds c.
func (c *classifier) classify(texts []string) ([]Result, error) {
	out := make([]Result, len(texts))
	var miss []int
	for i, t := range texts {
		if c.cache != nil {
			if r, ok := c.cache.Get(t); ok {
				out[i] = r
				continue
			}
		}
		miss = append(miss, i)
	}
	if len(miss) == 0 {
		return out, nil
	}
	d, classes := c.feat.Dims(), c.model.Classes()
	x := c.buffer(len(miss) * d)
	defer c.bufs.Put(x)
	touched := c.featurize(texts, miss, *x)
	y := make([]float32, len(miss)*classes)
	err := c.sess.Run(*x, len(miss), y)
	for _, t := range touched {
		for _, j := range t {
			(*x)[j] = 0
		}
	}
	if err != nil {
		return nil, err
	}
	for r, i := range miss {
		best, p := nn.Argmax(y[r*classes : (r+1)*classes])
		out[i] = Result{Intent: c.model.Labels[best], Confidence: float64(p)}
		if c.cache != nil {
			c.cache.Add(texts[i], out[i])
		}
	}
	return out, nil
}

// rowsPerWorker is the least work worth a goroutine: featurising a message
// takes ~10µs, starting a goroutine ~1µs.
const rowsPerWorker = 64

// featurize writes the features of texts[miss[r]] into row r of the dense
// x and returns the indices it set. A big batch is split over the cores:
// at 500 messages featurising costs more than the inference.
func (c *classifier) featurize(texts []string, miss []int, x []float32) [][]int32 {
	d := c.feat.Dims()
	workers := max(1, min(runtime.GOMAXPROCS(0), len(miss)/rowsPerWorker))
	touched := make([][]int32, workers)
	var wg sync.WaitGroup
	rows := func(w int) {
		lo, hi := len(miss)*w/workers, len(miss)*(w+1)/workers
		var v featurize.Vector
		set := make([]int32, 0, (hi-lo)*128)
		for r := lo; r < hi; r++ {
			c.feat.TransformNormalized(texts[miss[r]], &v)
			row := x[r*d : (r+1)*d]
			for k, j := range v.Index {
				row[j] = v.Value[k]
				set = append(set, int32(r*d)+j)
			}
		}
		touched[w] = set
	}
	for w := 1; w < workers; w++ {
		wg.Go(func() { rows(w) })
	}
	rows(0)
	wg.Wait()
	return touched
}

// buffer returns a zeroed float32 slice of at least n elements.
func (c *classifier) buffer(n int) *[]float32 {
	if b, ok := c.bufs.Get().(*[]float32); ok && len(*b) >= n {
		return b
	}
	b := make([]float32, n)
	return &b
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
