package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/syncd-dev/syncd/bot/featurize"
)

// Layer is a dense layer y = x·W + b.
type Layer struct {
	In, Out int
	// W is row-major [In][Out], the layout of ONNX Gemm's B input without
	// transposition, so it is written to the model file as it is.
	W []float32
	B []float32 // [Out]
	// Scale, when set (len In), says the layer is stored as int8 with one
	// scale per input row: W holds exactly the values the file gives,
	// float32(q)·Scale[i] (see Quantize). Only the first layer, whose rows
	// are gathered per feature, is stored so.
	Scale []float32
}

// NewLayer returns a zero layer of the given size.
func NewLayer(in, out int) Layer {
	return Layer{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
}

// Quantize rounds the weights to int8 with one scale per row (the
// largest magnitude in the row maps to 127), sets Scale and leaves in W the
// values the model file will give back, so that a model evaluated after
// Quantize scores what the file will. A first layer of 2^15×128 weights
// is 4 MiB so instead of 16; its rows are gathered per message, so the
// extra cost is a cast of the rows a message touches.
func (l *Layer) Quantize() {
	l.Scale = make([]float32, l.In)
	for i := range l.In {
		row := l.Row(i)
		var hi float32
		for _, w := range row {
			hi = max(hi, w, -w)
		}
		if hi == 0 {
			continue
		}
		s := hi / 127
		l.Scale[i] = s
		for j, w := range row {
			row[j] = float32(QuantizeValue(w, s)) * s
		}
	}
}

// QuantizeValue is w/s rounded to the nearest int8 (ties away from zero).
func QuantizeValue(w, s float32) int8 {
	if s == 0 {
		return 0
	}
	q := math.Round(float64(w) / float64(s))
	return int8(max(-127, min(127, q)))
}

// Row is the weights from input i to every output.
func (l *Layer) Row(i int) []float32 { return l.W[i*l.Out : (i+1)*l.Out] }

// Model is a trained intent classifier. Layers has one entry (softmax
// regression) or two (one ReLU hidden layer).
type Model struct {
	Labels   []string
	Features featurize.Config
	Layers   []Layer
	// Meta is extra metadata written to the model file (training settings,
	// data checksum); it is informational only.
	Meta map[string]string
	// FromOldFormat is set by UnmarshalONNX for a file whose graph is not
	// the one MarshalONNX writes now (format 1, dense input).
	FromOldFormat bool
}

// OutOfScope is the label of the "none of these" class that `syncd bot
// train` adds from background text; the bot never answers it.
const OutOfScope = "out_of_scope"

// ErrInvalid marks a model whose shapes, labels or settings do not fit
// together.
var ErrInvalid = errors.New("invalid model")

// Validate checks that layers chain from the feature size to the labels.
func (m *Model) Validate() error {
	if err := m.Features.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(m.Labels) < 2 {
		return fmt.Errorf("%w: %d labels, need at least 2", ErrInvalid, len(m.Labels))
	}
	if n := len(m.Layers); n < 1 || n > 2 {
		return fmt.Errorf("%w: %d layers, want 1 or 2", ErrInvalid, n)
	}
	in := m.Features.Dims
	for i, l := range m.Layers {
		if l.In != in || len(l.W) != l.In*l.Out || len(l.B) != l.Out || l.Out < 1 {
			return fmt.Errorf("%w: layer %d is [%d,%d] with %d weights and %d biases, input is %d",
				ErrInvalid, i, l.In, l.Out, len(l.W), len(l.B), in)
		}
		if l.Scale != nil && (i > 0 || len(l.Scale) != l.In) {
			return fmt.Errorf("%w: layer %d has %d scales; only the first layer may be int8, with one scale per input", ErrInvalid, i, len(l.Scale))
		}
		in = l.Out
	}
	if in != len(m.Labels) {
		return fmt.Errorf("%w: %d outputs for %d labels", ErrInvalid, in, len(m.Labels))
	}
	seen := make(map[string]bool, len(m.Labels))
	for _, l := range m.Labels {
		if l == "" || seen[l] {
			return fmt.Errorf("%w: label %q is empty or repeated", ErrInvalid, l)
		}
		seen[l] = true
	}
	return nil
}

// Classes is the number of labels.
func (m *Model) Classes() int { return len(m.Labels) }

// Hidden is the hidden layer's width, 0 for a linear model.
func (m *Model) Hidden() int {
	if len(m.Layers) == 2 {
		return m.Layers[0].Out
	}
	return 0
}

// Forward writes the class probabilities for x into out (len Classes) and
// returns out. hidden is scratch of len Hidden (may be nil for a linear
// model). It is the reference for what the ONNX graph computes.
func (m *Model) Forward(x featurize.Vector, hidden, out []float32) []float32 {
	first := &m.Layers[0]
	z := out
	if len(m.Layers) == 2 {
		z = hidden
	}
	sparseAffine(first, x, z)
	if len(m.Layers) == 2 {
		for j, v := range z {
			z[j] = max(v, 0)
		}
		denseAffine(&m.Layers[1], z, out)
	}
	Softmax(out)
	return out
}

// sparseAffine sets z = x·W + b for a sparse x.
func sparseAffine(l *Layer, x featurize.Vector, z []float32) {
	copy(z, l.B)
	for k, i := range x.Index {
		v := x.Value[k]
		for j, w := range l.Row(int(i)) {
			z[j] += v * w
		}
	}
}

// denseAffine sets z = x·W + b for a dense x.
func denseAffine(l *Layer, x, z []float32) {
	copy(z, l.B)
	for i, v := range x {
		if v == 0 {
			continue
		}
		for j, w := range l.Row(i) {
			z[j] += v * w
		}
	}
}

// Softmax turns logits into probabilities in place, the max-subtracted way
// ONNX Runtime does it, so large logits do not overflow.
func Softmax(z []float32) {
	hi := float32(math.Inf(-1))
	for _, v := range z {
		hi = max(hi, v)
	}
	var sum float64
	for j, v := range z {
		e := math.Exp(float64(v - hi))
		z[j] = float32(e)
		sum += e
	}
	for j := range z {
		z[j] = float32(float64(z[j]) / sum)
	}
}

// Argmax returns the index and value of the largest element.
func Argmax(p []float32) (int, float32) {
	best := 0
	for j, v := range p {
		if v > p[best] {
			best = j
		}
	}
	return best, p[best]
}
