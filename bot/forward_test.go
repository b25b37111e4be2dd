package bot

import (
	"math"
	"testing"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/bot/train"
)

// TestONNXRuntimeMatchesGoForward runs the same weights through ONNX
// Runtime and through nn.Model.Forward and compares every probability.
func TestONNXRuntimeMatchesGoForward(t *testing.T) {
	requireRuntime(t)
	lib, _ := onnxrt.LibraryPath("")
	if err := onnxrt.Init(lib); err != nil {
		t.Fatal(err)
	}
	ex, err := train.ReadCSVFile("model/train.csv")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"", "?", "where is my order", "我要退款", "ＨＥＬＬＯ　ｔｈｅｒｅ", "ok thx bye 👋"}
	for _, e := range ex {
		texts = append(texts, e.Text)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"built-in linear", model.Default()},
		{"mlp", smallModel(t, 32, 3)},
		{"mlp, int8 first layer", int8Model(t, smallModel(t, 32, 3))},
		{"linear, int8", int8Model(t, smallModel(t, -1, 3))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := nn.UnmarshalONNX(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if m.FromOldFormat {
				t.Fatal("a model MarshalONNX wrote reads as the old format")
			}
			f, err := featurize.New(m.Features)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := onnxrt.NewSession(tc.data, nn.IndicesName, nn.ValuesName, nn.OutputName, m.Classes(), onnxrt.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			c := m.Classes()
			vs := make([]featurize.Vector, len(texts))
			for i, s := range texts {
				f.Transform(s, &vs[i])
			}
			idx, val, nnz := sparseBatch(vs, nil, nil)
			y := make([]float32, len(texts)*c)
			if err := sess.Run(idx, val, len(texts), nnz, y); err != nil {
				t.Fatal(err)
			}
			hidden, want := make([]float32, m.Hidden()), make([]float32, c)
			var worst float64
			for i := range texts {
				m.Forward(vs[i], hidden, want)
				for j := range want {
					worst = max(worst, math.Abs(float64(want[j]-y[i*c+j])))
				}
			}
			if worst > 1e-5 {
				t.Errorf("largest difference between ONNX Runtime and Go is %g, want <= 1e-5", worst)
			}
			t.Logf("%d texts × %d classes, largest difference %g", len(texts), c, worst)
		})
	}
}

// int8Model is data's model with its first layer stored as int8.
func int8Model(t *testing.T, data []byte) []byte {
	t.Helper()
	m, err := nn.UnmarshalONNX(data)
	if err != nil {
		t.Fatal(err)
	}
	m.Layers[0].Quantize()
	b, err := m.MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
