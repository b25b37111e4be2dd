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
)

// opset 17 has Gemm, Relu and Softmax over the last axis (since 13), and
// every ONNX Runtime from 1.11 on runs it.
const (
	irVersion = 8
	opset     = 17
)

// MarshalONNX encodes m as an ONNX model in format 2: the first layer on
// the sparse input (Gather, MatMul, Flatten, Add), then Relu + Gemm for a
// hidden layer, then Softmax. The bytes depend only on m.
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
	for i, l := range m.Layers {
		name := fmt.Sprintf("fc%d", i+1)
		g.Initializers = append(g.Initializers,
			onnxpb.Tensor{Name: name + ".weight", Dims: []int64{int64(l.In), int64(l.Out)}, Float: l.W},
			onnxpb.Tensor{Name: name + ".bias", Dims: []int64{int64(l.Out)}, Float: l.B})
		out := name + ".out"
		if i == len(m.Layers)-1 {
			out = "logits"
		}
		if i == 0 {
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
		} else {
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
		{Key: MetaFormat, Value: formatV2},
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
	if f != formatV1 && f != formatV2 {
		return nil, fmt.Errorf("%w: metadata %s is %q, want %q or %q", ErrInvalid, MetaFormat, f, formatV2, formatV1)
	}
	m := &Model{Meta: map[string]string{}, FromOldFormat: f != formatV2}
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
		if w == nil || b == nil {
			break
		}
		if len(w.Dims) != 2 || len(b.Dims) != 1 {
			return nil, fmt.Errorf("%w: %s has weight dims %v and bias dims %v", ErrInvalid, name, w.Dims, b.Dims)
		}
		m.Layers = append(m.Layers, Layer{In: int(w.Dims[0]), Out: int(w.Dims[1]), W: w.Float, B: b.Float})
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}
