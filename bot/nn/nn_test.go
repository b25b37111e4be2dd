package nn

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/syncd-dev/syncd/bot/featurize"
)

func tiny(hidden int) *Model {
	feat := featurize.Config{Dims: 8}.WithDefaults()
	m := &Model{Labels: []string{"a", "b", "c"}, Features: feat, Meta: map[string]string{"syncd.train.seed": "1"}}
	fill := func(l Layer) Layer {
		for i := range l.W {
			l.W[i] = float32(i%7) - 3
		}
		for i := range l.B {
			l.B[i] = float32(i) / 10
		}
		return l
	}
	if hidden == 0 {
		m.Layers = []Layer{fill(NewLayer(8, 3))}
	} else {
		m.Layers = []Layer{fill(NewLayer(8, hidden)), fill(NewLayer(hidden, 3))}
	}
	return m
}

func TestONNXRoundTrip(t *testing.T) {
	for _, hidden := range []int{0, 4} {
		m := tiny(hidden)
		b, err := m.MarshalONNX()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := tiny(hidden).MarshalONNX()
		if !bytes.Equal(b, again) {
			t.Error("MarshalONNX is not deterministic")
		}
		got, err := UnmarshalONNX(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("hidden %d: round trip differs:\n got %+v\nwant %+v", hidden, got, m)
		}
	}
}

func TestForwardMatchesDenseMath(t *testing.T) {
	m := tiny(4)
	x := featurize.Vector{Index: []int32{1, 5}, Value: []float32{0.6, 0.8}}
	p := m.Forward(x, make([]float32, 4), make([]float32, 3))
	// The same computation written out densely.
	dense := make([]float32, 8)
	x.AddTo(dense)
	h := make([]float64, 4)
	for j := range h {
		h[j] = float64(m.Layers[0].B[j])
		for i, v := range dense {
			h[j] += float64(v) * float64(m.Layers[0].W[i*4+j])
		}
		h[j] = math.Max(h[j], 0)
	}
	z := make([]float64, 3)
	var sum float64
	for j := range z {
		z[j] = float64(m.Layers[1].B[j])
		for i, v := range h {
			z[j] += v * float64(m.Layers[1].W[i*3+j])
		}
	}
	hi := math.Max(z[0], math.Max(z[1], z[2]))
	for j := range z {
		z[j] = math.Exp(z[j] - hi)
		sum += z[j]
	}
	for j := range z {
		if math.Abs(z[j]/sum-float64(p[j])) > 1e-6 {
			t.Errorf("p[%d] = %v, want %v", j, p[j], z[j]/sum)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []func(m *Model){
		func(m *Model) { m.Labels = m.Labels[:1] },
		func(m *Model) { m.Labels[1] = "a" },
		func(m *Model) { m.Layers[0].B = m.Layers[0].B[:1] },
		func(m *Model) { m.Features.Dims = 16 },
		func(m *Model) { m.Layers = nil },
	}
	for i, mutate := range bad {
		m := tiny(0)
		mutate(m)
		if err := m.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: Validate() = %v, want ErrInvalid", i, err)
		}
	}
	if _, err := UnmarshalONNX([]byte("garbage")); err == nil {
		t.Error("UnmarshalONNX accepted garbage")
	}
}
