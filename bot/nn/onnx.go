package nn

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/onnxpb"
)

// Names in the ONNX graph. The bot binds them when it creates a session.
//
// The input is the sparse feature vector of each text, padded to the
// batch's longest with index 0 and value 0: a message sets a few hundred
// of the Dims features, so gathering those rows of the first layer's
// weights costs about nnz×Out multiply-adds per message, where a dense
// [batch, Dims] input cost Dims×Out (2^15×15 ≈ 500,000) and a 32 MiB
// input buffer per batch of 500.
const (
	IndicesName = "indices"       // int64 [batch, nnz]: feature indices
	ValuesName  = "values"        // float32 [batch, 1, nnz]: their values
	OutputName  = "probabilities" // float32 [batch, len(Labels)]
)

// Metadata keys. Format changes when the graph's contract does, so an old
// binary refuses a model it would misread.
const (
	MetaFormat   = "syncd.format"
	MetaLabels   = "syncd.labels"
	MetaFeatures = "syncd.features"
	formatV1     = "intent-classifier/1" // dense input
	formatV2     = "intent-classifier/2" // sparse input
	formatV3     = "intent-classifier/3" // sparse input, int8 first layer
)

// opset 17 has Gemm, Relu and Softmax over the last axis (since 13), and
// every ONNX Runtime from 1.11 on runs it.
const (
	irVersion = 8
	opset     = 17
)

// MarshalONNX encodes m as an ONNX model in format 2: the first layer on
// the sparse input (Gather, MatMul, Flatten, Add), then Relu + Gemm for a
// hidden layer, then Softmax. A first layer with Scale (Layer.Quantize) is
// written as int8 weights and per-row scales (Gather, Cast, and the
// scales multiplied into the values), in format 3, which binaries that
// know only format 2 refuse instead of misreading. The bytes depend only
// on m.
func (m *Model) MarshalONNX() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	labels, err := json.Marshal(m.Labels)
	if err != nil {
		return nil, fmt.Errorf("encode labels: %w", err)
	}
	features, err := m.Features.MarshalText()
	if err != nil {
		return nil, fmt.Errorf("encode features: %w", err)
	}
	g := onnxpb.Graph{
		Name: "syncd_intent",
		Inputs: []onnxpb.ValueInfo{
			{Name: IndicesName, ElemType: onnxpb.Int64, Shape: []onnxpb.Dim{{Param: "batch"}, {Param: "nnz"}}},
			{Name: ValuesName, ElemType: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "batch"}, {Value: 1}, {Param: "nnz"}}},
		},
		Outputs: []onnxpb.ValueInfo{{Name: OutputName, ElemType: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "batch"}, {Value: int64(len(m.Labels))}}}},
	}
	x := ""
	format := formatV2
	for i, l := range m.Layers {
		name := fmt.Sprintf("fc%d", i+1)
		out := name + ".out"
		if i == len(m.Layers)-1 {
			out = "logits"
		}
		if l.Scale != nil {
			format = formatV3
			g.Initializers = append(g.Initializers,
				onnxpb.Tensor{Name: name + ".weight_q", Dims: []int64{int64(l.In), int64(l.Out)}, Int8: quantized(&l)},
				onnxpb.Tensor{Name: name + ".scale", Dims: []int64{int64(l.In), 1}, Float: l.Scale},
				onnxpb.Tensor{Name: name + ".bias", Dims: []int64{int64(l.Out)}, Float: l.B})
			// The int8 rows the indices name, as float [batch, nnz, Out];
			// their scales [batch, nnz, 1] turned to [batch, 1, nnz] and
			// folded into the values, so the MatMul sums
			// value·scale·q: a multiply per feature, not per weight.
			g.Nodes = append(g.Nodes,
				onnxpb.Node{Name: name + ".gather", OpType: "Gather", Inputs: []string{name + ".weight_q", IndicesName}, Outputs: []string{name + ".rows_q"},
					Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: 0}}},
				onnxpb.Node{Name: name + ".cast", OpType: "Cast", Inputs: []string{name + ".rows_q"}, Outputs: []string{name + ".rows"},
					Attrs: []onnxpb.Attr{{Name: "to", Type: onnxpb.AttrInt, I: onnxpb.Float}}},
				onnxpb.Node{Name: name + ".gather_scale", OpType: "Gather", Inputs: []string{name + ".scale", IndicesName}, Outputs: []string{name + ".scales"},
					Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: 0}}},
				onnxpb.Node{Name: name + ".transpose", OpType: "Transpose", Inputs: []string{name + ".scales"}, Outputs: []string{name + ".scales_t"},
					Attrs: []onnxpb.Attr{{Name: "perm", Type: onnxpb.AttrInts, Ints: []int64{0, 2, 1}}}},
				onnxpb.Node{Name: name + ".scale_values", OpType: "Mul", Inputs: []string{ValuesName, name + ".scales_t"}, Outputs: []string{name + ".values"}},
				onnxpb.Node{Name: name + ".matmul", OpType: "MatMul", Inputs: []string{name + ".values", name + ".rows"}, Outputs: []string{name + ".sum3"}},
				onnxpb.Node{Name: name + ".flatten", OpType: "Flatten", Inputs: []string{name + ".sum3"}, Outputs: []string{name + ".sum"},
					Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: 1}}},
				onnxpb.Node{Name: name + ".add", OpType: "Add", Inputs: []string{name + ".sum", name + ".bias"}, Outputs: []string{out}})
		} else {
			g.Initializers = append(g.Initializers,
				onnxpb.Tensor{Name: name + ".weight", Dims: []int64{int64(l.In), int64(l.Out)}, Float: l.W},
				onnxpb.Tensor{Name: name + ".bias", Dims: []int64{int64(l.Out)}, Float: l.B})
		}
		switch {
		case l.Scale != nil: // its nodes are above
		case i == 0:
			// x·W for a sparse x: the rows of W the indices name
			// [batch, nnz, Out], weighted by the values [batch, 1, nnz]
			// and summed by one batched MatMul, then flattened to
			// [batch, Out] and biased.
			g.Nodes = append(g.Nodes,
				onnxpb.Node{Name: name + ".gather", OpType: "Gather", Inputs: []string{name + ".weight", IndicesName}, Outputs: []string{name + ".rows"},
					Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: 0}}},
				onnxpb.Node{Name: name + ".matmul", OpType: "MatMul", Inputs: []string{ValuesName, name + ".rows"}, Outputs: []string{name + ".sum3"}},
				onnxpb.Node{Name: name + ".flatten", OpType: "Flatten", Inputs: []string{name + ".sum3"}, Outputs: []string{name + ".sum"},
					Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: 1}}},
				onnxpb.Node{Name: name + ".add", OpType: "Add", Inputs: []string{name + ".sum", name + ".bias"}, Outputs: []string{out}})
		default:
			g.Nodes = append(g.Nodes, onnxpb.Node{Name: name, OpType: "Gemm", Inputs: []string{x, name + ".weight", name + ".bias"}, Outputs: []string{out}})
		}
		x = out
		if i < len(m.Layers)-1 {
			g.Nodes = append(g.Nodes, onnxpb.Node{Name: name + ".relu", OpType: "Relu", Inputs: []string{x}, Outputs: []string{name + ".act"}})
			x = name + ".act"
		}
	}
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "softmax", OpType: "Softmax", Inputs: []string{x}, Outputs: []string{OutputName},
		Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: -1}}})

	meta := []onnxpb.KV{
		{Key: MetaFormat, Value: format},
		{Key: MetaLabels, Value: string(labels)},
		{Key: MetaFeatures, Value: string(features)},
	}
	for _, k := range slices.Sorted(maps.Keys(m.Meta)) {
		if strings.HasPrefix(k, "syncd.") && k != MetaFormat && k != MetaLabels && k != MetaFeatures {
			meta = append(meta, onnxpb.KV{Key: k, Value: m.Meta[k]})
		}
	}
	pm := onnxpb.Model{
		IRVersion:    irVersion,
		Opsets:       []onnxpb.Opset{{Version: opset}},
		ProducerName: "syncd",
		Graph:        g,
		Metadata:     meta,
	}
	return pm.Marshal(), nil
}

// UnmarshalONNX reads a model that MarshalONNX wrote, in format 2 or in
// format 1 (dense input; same weights). Metadata keys with the "syncd."
// prefix other than the three it interprets land in Meta.
func UnmarshalONNX(b []byte) (*Model, error) {
	pm, err := onnxpb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode onnx: %w", err)
	}
	f, _ := pm.Meta(MetaFormat)
	if f != formatV1 && f != formatV2 && f != formatV3 {
		return nil, fmt.Errorf("%w: metadata %s is %q, want %q, %q or %q", ErrInvalid, MetaFormat, f, formatV3, formatV2, formatV1)
	}
	m := &Model{Meta: map[string]string{}, FromOldFormat: f == formatV1}
	for _, kv := range pm.Metadata {
		switch kv.Key {
		case MetaFormat:
		case MetaLabels:
			if err := json.Unmarshal([]byte(kv.Value), &m.Labels); err != nil {
				return nil, fmt.Errorf("%w: metadata %s: %w", ErrInvalid, MetaLabels, err)
			}
		case MetaFeatures:
			if m.Features, err = featurize.ParseConfig(kv.Value); err != nil {
				return nil, fmt.Errorf("%w: metadata %s: %w", ErrInvalid, MetaFeatures, err)
			}
		default:
			if strings.HasPrefix(kv.Key, "syncd.") {
				m.Meta[kv.Key] = kv.Value
			}
		}
	}
	for i := 1; ; i++ {
		name := fmt.Sprintf("fc%d", i)
		w, b := pm.Graph.Initializer(name+".weight"), pm.Graph.Initializer(name+".bias")
		if q := pm.Graph.Initializer(name + ".weight_q"); q != nil && w == nil && b != nil {
			l, err := dequantize(name, q, pm.Graph.Initializer(name+".scale"), b)
			if err != nil {
				return nil, err
			}
			m.Layers = append(m.Layers, l)
			continue
		}
		if w == nil || b == nil {
			break
		}
		if len(w.Dims) != 2 || len(b.Dims) != 1 || w.Int8 != nil || b.Int8 != nil {
			return nil, fmt.Errorf("%w: %s has weight dims %v and bias dims %v", ErrInvalid, name, w.Dims, b.Dims)
		}
		m.Layers = append(m.Layers, Layer{In: int(w.Dims[0]), Out: int(w.Dims[1]), W: w.Float, B: b.Float})
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// quantized is l's weights as int8, by l.Scale. W holds q·scale already
// (Layer.Quantize), so this gives back exactly q.
func quantized(l *Layer) []int8 {
	q := make([]int8, len(l.W))
	for i := range l.In {
		s := l.Scale[i]
		for j, w := range l.Row(i) {
			q[i*l.Out+j] = QuantizeValue(w, s)
		}
	}
	return q
}

// dequantize reads an int8 layer: W = float32(q)·scale, row by row, the
// values Layer.Quantize left in W when the model was written.
func dequantize(name string, q, scale, b *onnxpb.Tensor) (Layer, error) {
	if len(q.Dims) != 2 || q.Int8 == nil || scale == nil || scale.Int8 != nil || len(scale.Dims) != 2 ||
		scale.Dims[0] != q.Dims[0] || scale.Dims[1] != 1 || len(b.Dims) != 1 || b.Int8 != nil {
		return Layer{}, fmt.Errorf("%w: %s is int8 with weight dims %v and no matching [%d,1] float scale", ErrInvalid, name, q.Dims, q.Dims[0])
	}
	l := Layer{In: int(q.Dims[0]), Out: int(q.Dims[1]), W: make([]float32, len(q.Int8)), B: b.Float, Scale: scale.Float}
	for i := range l.In {
		s := l.Scale[i]
		for j := range l.Out {
			l.W[i*l.Out+j] = float32(q.Int8[i*l.Out+j]) * s
		}
	}
	return l, nil
}
