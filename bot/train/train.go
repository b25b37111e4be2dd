package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/nn"
)

// The defaults of a training run: the best settings found on banking77
// and the shop data under the limits of a model syncd ships (under 5 MB,
// p99 under 1 ms per message), docs/benchmarks-bot.md. DefaultHidden,
// DefaultMembers and DefaultDropout apply when the hidden layer wins on
// held-out data. `syncd bot train` shows them as its flags' defaults and
// `make model` uses them, so the shipped model and a user's are trained
// the same way.
const (
	DefaultDims         = 1 << 14
	DefaultHidden       = 128
	DefaultMembers      = 4
	DefaultDropout      = 0.3
	DefaultBatchSize    = 64
	DefaultWeightDecay  = 1e-4
	DefaultLearningRate = 0.01 // with a hidden layer; 0.02 for a linear model
)

// Config controls a training run. Zero fields take the defaults above.
type Config struct {
	// Features is the featuriser the model is trained (and later run) with;
	// Dims defaults to DefaultDims or, for a wide first layer, the most
	// that keeps it under 4 MiB; the n-gram ranges default to featurize's;
	// StripGreetings follows KeepGreetings.
	Features featurize.Config
	// Hidden is the width of a ReLU hidden layer; negative: none, a
	// softmax regression; 0: Train chooses between none and DefaultHidden
	// on held-out data (see chooseHidden).
	Hidden int
	// Members is how many hidden layers of width Hidden are trained, each
	// on its own seed (Seed, Seed+1, ...), and averaged: the model is one
	// hidden layer of Members×Hidden units whose output layer averages the
	// members' logits. Default DefaultMembers with a hidden layer; 1: one.
	// Each member has the same features, so an ensemble costs its width;
	// on banking77 four of 128 over 2^13 features beat one of 128 over
	// 2^15 (which is as large) by about seven tenths of a point.
	Members int
	// Epochs over the data; default 5 (hidden layer) or 10 (linear).
	Epochs int
	// BatchSize is the examples per Adam step; default 64.
	BatchSize int
	// LearningRate is Adam's step size, decayed linearly to zero; default
	// 0.01 with a hidden layer, 0.02 for a linear model.
	LearningRate float64
	// WeightDecay is decoupled (AdamW) decay per step, scaled by the
	// learning rate; default 1e-4. Negative turns it off.
	WeightDecay float64
	// NoIDF turns off inverse-document-frequency scaling of the training
	// inputs. The scaling gives rare n-grams larger inputs, hence larger
	// effective step sizes, which helps the MLP; it is folded into the first
	// layer's weights afterwards, so the model still reads the plain
	// featuriser output.
	NoIDF bool
	// Dropout is the probability of zeroing a hidden unit during training;
	// default 0.2; negative turns it off.
	Dropout float64
	// KeepGreetings keeps the greetings a message starts with in its
	// features; by default they are stripped (it sets
	// Features.StripGreetings).
	KeepGreetings bool
	// LabelSmoothing moves this share of each example's target from its
	// label to all classes evenly.
	LabelSmoothing float64
	// Balanced weights each class by N/(C·count) so rare intents are not
	// drowned out by frequent ones.
	Balanced bool
	// Seed makes the run reproducible: the same data, settings and seed
	// give the same model bytes.
	Seed uint64
	// Workers is how many goroutines share a batch; default 2. It is a
	// setting rather than GOMAXPROCS so that the result does not depend on
	// the machine (the split decides the floating-point summation order).
	Workers int
	// Progress, if set, is called after every step with the steps done and
	// the total.
	Progress func(done, total int)
}

// WithDefaults returns c with zero fields set to their defaults. It is
// idempotent: "none" stays negative (hidden(), dropout() read it).
func (c Config) WithDefaults() Config {
	if c.Features.Dims == 0 {
		c.Features.Dims = DefaultDims
	}
	c.Features.StripGreetings = !c.KeepGreetings
	c.Features = c.Features.WithDefaults()
	if c.Epochs == 0 {
		c.Epochs = 10
		if c.hidden() > 0 {
			c.Epochs = 5
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.02
		if c.hidden() > 0 {
			c.LearningRate = DefaultLearningRate
		}
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = DefaultWeightDecay
	}
	if c.Dropout == 0 && c.hidden() > 0 {
		c.Dropout = DefaultDropout
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Members == 0 {
		c.Members = 1
		if c.hidden() > 0 {
			c.Members = DefaultMembers
		}
	}
	return c
}

// hidden is the hidden layer's width, 0 for none.
func (c Config) hidden() int { return max(c.Hidden, 0) }

// dropout is the dropout probability, 0 for none.
func (c Config) dropout() float64 { return max(c.Dropout, 0) }

// weightDecay is the decay per step, 0 for none.
func (c Config) weightDecay() float64 { return max(c.WeightDecay, 0) }

func (c Config) validate() error {
	switch {
	case c.Dropout >= 1 || c.LabelSmoothing < 0 || c.LabelSmoothing >= 1:
		return fmt.Errorf("train: dropout %v and label smoothing %v must be below 1", c.Dropout, c.LabelSmoothing)
	case c.Epochs < 1:
		return fmt.Errorf("train: epochs %d, want >= 1", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("train: batch size %d, want >= 1", c.BatchSize)
	case c.LearningRate <= 0 || math.IsNaN(c.LearningRate):
		return fmt.Errorf("train: learning rate %v, want > 0", c.LearningRate)
	case c.Workers < 1:
		return fmt.Errorf("train: workers %d, want >= 1", c.Workers)
	case c.Members < 1 || (c.Members > 1 && c.hidden() == 0):
		return fmt.Errorf("train: %d members, want 1, or more with a hidden layer", c.Members)
	}
	return c.Features.Validate()
}

// Labels returns the distinct labels, sorted so that the class order, and
// with it the model bytes, do not depend on row order.
func Labels(examples []Example) []string {
	var labels []string
	seen := map[string]bool{}
	for _, e := range examples {
		if !seen[e.Label] {
			seen[e.Label] = true
			labels = append(labels, e.Label)
		}
	}
	slices.Sort(labels)
	return labels
}

// Train fits a model to examples. It checks ctx between steps.
func Train(ctx context.Context, examples []Example, cfg Config) (*nn.Model, error) {
	var choice string
	if cfg.Hidden == 0 {
		h, why, err := chooseHidden(ctx, examples, cfg)
		if err != nil {
			return nil, err
		}
		cfg.Hidden, choice = h, why
	}
	m, err := fit(ctx, examples, cfg)
	if err != nil {
		return nil, err
	}
	if choice != "" {
		m.Meta["syncd.train.hidden_choice"] = choice
	}
	return m, nil
}

// fit trains one model with cfg, whose Hidden is decided.
func fit(ctx context.Context, examples []Example, cfg Config) (*nn.Model, error) {
	if cfg.Features.Dims == 0 {
		cfg.Features.Dims = defaultDims(firstLayerWidth(cfg, len(Labels(examples))))
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	labels := Labels(examples)
	if len(labels) < 2 {
		return nil, errors.New("train: need at least two labels")
	}
	f, err := featurize.New(cfg.Features)
	if err != nil {
		return nil, err
	}
	members := make([]*nn.Model, cfg.Members)
	progress := cfg.Progress
	for i := range members {
		mc := cfg
		mc.Seed = cfg.Seed + uint64(i)
		if progress != nil {
			mc.Progress = func(done, total int) { progress(i*total+done, cfg.Members*total) }
		}
		t := newTrainer(mc, f, labels, examples)
		if err := t.run(ctx); err != nil {
			return nil, err
		}
		t.foldIDF()
		members[i] = t.model
	}
	m := average(members)
	// int8 where float32 would pass the budget: on banking77's 10,000
	// examples rounding moved the test accuracy by at most 0.04 points.
	if l := &m.Layers[0]; l.In*l.Out*4 > maxFirstLayerBytes {
		l.Quantize()
	}
	describe(m, cfg, examples)
	return m, nil
}

// firstLayerWidth is the first layer's output count under cfg.
func firstLayerWidth(cfg Config, classes int) int {
	if h := cfg.hidden(); h > 0 {
		return h * cfg.WithDefaults().Members
	}
	return classes
}

// average joins models with one hidden layer each, the same features and
// labels, into one whose hidden layer is theirs side by side and whose
// output layer averages their logits; one model is returned as it is.
func average(ms []*nn.Model) *nn.Model {
	if len(ms) == 1 {
		return ms[0]
	}
	in, classes, h := ms[0].Layers[0].In, ms[0].Classes(), ms[0].Hidden()
	first, second := nn.NewLayer(in, h*len(ms)), nn.NewLayer(h*len(ms), classes)
	share := 1 / float32(len(ms))
	for k, m := range ms {
		a, b := &m.Layers[0], &m.Layers[1]
		for i := range in {
			copy(first.Row(i)[k*h:(k+1)*h], a.Row(i))
		}
		copy(first.B[k*h:], a.B)
		for r := range h {
			for j, w := range b.Row(r) {
				second.Row(k*h + r)[j] = w * share
			}
		}
		for j, v := range b.B {
			second.B[j] += v * share
		}
	}
	return &nn.Model{Labels: ms[0].Labels, Features: ms[0].Features, Layers: []nn.Layer{first, second}}
}

// maxFirstLayerBytes bounds the first layer's weights when Dims is left to
// the default, so that a model stays under 5 MB. Weights are float32 while
// the layer fits in it that way and int8 (a quarter) beyond: a softmax
// regression over banking77's 78 classes gets 2^14 features in int8, four
// hidden layers of 128 2^13, the shop's 16 classes 2^14 in float32.
const maxFirstLayerBytes = 4 << 20

// defaultDims is the largest feature count, up to DefaultDims, whose first
// layer of width outputs fits maxFirstLayerBytes in int8.
func defaultDims(width int) int {
	d := DefaultDims
	for d > 1<<10 && d*width > maxFirstLayerBytes {
		d /= 2
	}
	return d
}

// minExamplesToChoose is the least data chooseHidden splits: a tenth of
// fewer examples says nothing.
const minExamplesToChoose = 200

// chooseHidden picks between a softmax regression and hidden layers of
// DefaultHidden (DefaultMembers of them unless cfg says) by their accuracy
// on a held-out tenth of examples (chosen by the seed), each trained on
// the rest with its own defaults. On banking77's 10,000 examples the
// hidden layers win by two points; on the shop's 1,500 the linear model
// wins (docs/benchmarks-bot.md), so no one architecture is the best
// default. A tie goes to the linear model, which is cheaper to run.
func chooseHidden(ctx context.Context, examples []Example, cfg Config) (int, string, error) {
	if len(examples) < minExamplesToChoose {
		return -1, fmt.Sprintf("none: %d examples are too few to compare on", len(examples)), nil
	}
	perm := rand.New(rand.NewPCG(cfg.Seed, 0xc4015e)).Perm(len(examples))
	var fitSet, held []Example
	for k, i := range perm {
		if k%10 == 0 {
			held = append(held, examples[i])
		} else {
			fitSet = append(fitSet, examples[i])
		}
	}
	cand := cfg
	cand.Progress = nil
	best, bestAcc := -1, -1.0
	var scores []string
	for _, h := range []int{-1, DefaultHidden} {
		cand.Hidden = h
		m, err := fit(ctx, fitSet, cand)
		if err != nil {
			return 0, "", err
		}
		acc, err := Accuracy(m, held)
		if err != nil {
			return 0, "", err
		}
		scores = append(scores, fmt.Sprintf("%d: %.4f", m.Hidden(), acc))
		if acc > bestAcc {
			best, bestAcc = h, acc
		}
	}
	return best, fmt.Sprintf("hidden %d by held-out accuracy (%s of %d)", max(best, 0)*cand.WithDefaults().Members, strings.Join(scores, ", "), len(held)), nil
}

// Accuracy is m's share of examples classified as labelled, by the pure-Go
// forward pass (the same arithmetic as the ONNX graph, no runtime needed).
func Accuracy(m *nn.Model, examples []Example) (float64, error) {
	if len(examples) == 0 {
		return 0, fmt.Errorf("accuracy: no examples")
	}
	f, err := featurize.New(m.Features)
	if err != nil {
		return 0, fmt.Errorf("accuracy: featuriser of the model: %w", err)
	}
	var v featurize.Vector
	out, hidden := make([]float32, m.Classes()), make([]float32, m.Hidden())
	var right int
	for _, e := range examples {
		f.Transform(e.Text, &v)
		if j, _ := nn.Argmax(m.Forward(v, hidden, out)); m.Labels[j] == e.Label {
			right++
		}
	}
	return float64(right) / float64(len(examples)), nil
}

// trainer holds the model, the Adam state and per-batch scratch.
type trainer struct {
	cfg    Config
	model  *nn.Model
	xs     []featurize.Vector
	idf    []float32 // nil when NoIDF
	ys     []int
	classW []float32

	first, second *nn.Layer // second is nil for a linear model
	adam1, adam2  adamState
	step          int

	// Per-batch scratch. z holds the first layer's pre-activations per
	// example, dz its gradient; logits and dlogits the output layer's.
	z, dz, logits, dlogits []float32
	loss                   []float64
	slot                   []int32 // feature row -> index in rows, or -1
	rows                   []int32 // rows of the first layer touched by the batch
	grow                   []float32
	gb1, gw2, gb2          []float32
}

type adamState struct{ mW, vW, mB, vB []float32 }

func newAdam(l *nn.Layer) adamState {
	return adamState{
		mW: make([]float32, len(l.W)), vW: make([]float32, len(l.W)),
		mB: make([]float32, len(l.B)), vB: make([]float32, len(l.B)),
	}
}

func newTrainer(cfg Config, f *featurize.Featurizer, labels []string, examples []Example) *trainer {
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	t := &trainer{cfg: cfg, xs: make([]featurize.Vector, len(examples)), ys: make([]int, len(examples))}
	counts := make([]int, len(labels))
	for i, e := range examples {
		f.Transform(e.Text, &t.xs[i])
		t.ys[i] = index[e.Label]
		counts[t.ys[i]]++
	}
	if !cfg.NoIDF {
		t.idf = idfWeights(t.xs, f.Dims())
		for _, x := range t.xs {
			for k, r := range x.Index {
				x.Value[k] *= t.idf[r]
			}
		}
	}
	t.classW = make([]float32, len(labels))
	for c, n := range counts {
		t.classW[c] = 1
		if cfg.Balanced {
			t.classW[c] = float32(float64(len(examples)) / float64(len(labels)*n))
		}
	}
	// The out-of-scope class, however much background text it has, weighs
	// as much in the loss as an average intent: hundreds of background
	// texts against dozens per intent would otherwise teach the model that
	// anything unsure is out of scope (measured in docs/benchmarks-bot.md).
	if oos, ok := index[nn.OutOfScope]; ok && len(labels) > 1 && !cfg.Balanced {
		avg := float64(len(examples)-counts[oos]) / float64(len(labels)-1)
		t.classW[oos] = float32(min(1, avg/float64(counts[oos])))
	}

	d, classes := f.Dims(), len(labels)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	m := &nn.Model{Labels: labels, Features: f.Config()}
	if h := cfg.hidden(); h == 0 {
		m.Layers = []nn.Layer{nn.NewLayer(d, classes)}
	} else {
		m.Layers = []nn.Layer{nn.NewLayer(d, h), nn.NewLayer(h, classes)}
		// He initialisation for the ReLU layer. Inputs have unit L2 norm,
		// so a pre-activation's variance is the weights' variance.
		initNormal(rng, m.Layers[0].W, 1/math.Sqrt(float64(h)))
		initNormal(rng, m.Layers[1].W, math.Sqrt(2/float64(h)))
	}
	t.model = m
	t.first = &m.Layers[0]
	t.adam1 = newAdam(t.first)
	if len(m.Layers) == 2 {
		t.second = &m.Layers[1]
		t.adam2 = newAdam(t.second)
		t.gw2 = make([]float32, len(t.second.W))
		t.gb2 = make([]float32, classes)
	}
	bs, h := cfg.BatchSize, t.first.Out
	t.z, t.dz = make([]float32, bs*h), make([]float32, bs*h)
	t.logits, t.dlogits = make([]float32, bs*classes), make([]float32, bs*classes)
	t.loss = make([]float64, bs)
	t.slot = make([]int32, d)
	for i := range t.slot {
		t.slot[i] = -1
	}
	t.gb1 = make([]float32, h)
	return t
}

func initNormal(rng *rand.Rand, w []float32, std float64) {
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
}

func (t *trainer) run(ctx context.Context) error {
	n, bs := len(t.xs), t.cfg.BatchSize
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(t.cfg.Seed, 0x5b0ff1e))
	perEpoch := (n + bs - 1) / bs
	total := perEpoch * t.cfg.Epochs
	for epoch := 0; epoch < t.cfg.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for b := 0; b < n; b += bs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			lr := t.cfg.LearningRate * (1 - float64(t.step)/float64(total))
			t.batch(order[b:min(b+bs, n)], lr)
			if t.cfg.Progress != nil {
				t.cfg.Progress(t.step, total)
			}
		}
	}
	return nil
}

// idfWeights is the smoothed inverse document frequency of every feature
// bucket, ln((1+n)/(1+df)) + 1, as scikit-learn computes it.
func idfWeights(xs []featurize.Vector, dims int) []float32 {
	df := make([]float64, dims)
	for _, x := range xs {
		for _, r := range x.Index {
			df[r]++
		}
	}
	n := float64(len(xs))
	idf := make([]float32, dims)
	for r, d := range df {
		idf[r] = float32(math.Log((1+n)/(1+d)) + 1)
	}
	return idf
}

// foldIDF moves the input scaling into the first layer: (idf⊙x)·W equals
// x·(diag(idf)·W), so the model reads the plain featuriser output.
func (t *trainer) foldIDF() {
	if t.idf == nil {
		return
	}
	for r, w := range t.idf {
		for j := range t.first.Row(r) {
			t.first.Row(r)[j] *= w
		}
	}
}
