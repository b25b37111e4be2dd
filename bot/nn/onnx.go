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

// Names in the ONNX graph. The bot binds InputName and OutputName when it
// creates a session.
const (
	InputName  = "features"      // float32 [batch, Dims]
	OutputName = "probabilities" // float32 [batch, len(Labels)]
)

// Metadata keys. Format changes when the graph's contract does, so an old
// binary refuses a model it would misread.
const (
	MetaFormat   = "syncd.format"
	MetaLabels   = "syncd.labels"
	MetaFeatures = "syncd.features"
	formatV1     = "intent-classifier/1"
)

// opset 17 has Gemm, Relu and Softmax over the last axis (since 13), and
// every ONNX Runtime from 1.11 on runs it.
const (
	irVersion = 8
	opset     = 17
)

// MarshalONNX encodes m as an ONNX model: Gemm (+ Relu + Gemm) + Softmax on
// a dense float32 [N, Dims] input. The bytes depend only on m.
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
		Name:    "syncd_intent",
		Inputs:  []onnxpb.ValueInfo{{Name: InputName, ElemType: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "batch"}, {Value: int64(m.Features.Dims)}}}},
		Outputs: []onnxpb.ValueInfo{{Name: OutputName, ElemType: onnxpb.Float, Shape: []onnxpb.Dim{{Param: "batch"}, {Value: int64(len(m.Labels))}}}},
	}
	x := InputName
	for i, l := range m.Layers {
		name := fmt.Sprintf("fc%d", i+1)
		g.Initializers = append(g.Initializers,
			onnxpb.Tensor{Name: name + ".weight", Dims: []int64{int64(l.In), int64(l.Out)}, Float: l.W},
			onnxpb.Tensor{Name: name + ".bias", Dims: []int64{int64(l.Out)}, Float: l.B})
		out := name + ".out"
		if i == len(m.Layers)-1 {
			out = "logits"
		}
		g.Nodes = append(g.Nodes, onnxpb.Node{Name: name, OpType: "Gemm", Inputs: []string{x, name + ".weight", name + ".bias"}, Outputs: []string{out}})
		x = out
		if i < len(m.Layers)-1 {
			g.Nodes = append(g.Nodes, onnxpb.Node{Name: name + ".relu", OpType: "Relu", Inputs: []string{x}, Outputs: []string{name + ".act"}})
			x = name + ".act"
		}
	}
	g.Nodes = append(g.Nodes, onnxpb.Node{Name: "softmax", OpType: "Softmax", Inputs: []string{x}, Outputs: []string{OutputName},
		Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: -1}}})

	meta := []onnxpb.KV{
		{Key: MetaFormat, Value: formatV1},
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

// UnmarshalONNX reads a model that MarshalONNX wrote. Metadata keys with the
// "syncd." prefix other than the three it interprets land in Meta.
func UnmarshalONNX(b []byte) (*Model, error) {
	pm, err := onnxpb.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("decode onnx: %w", err)
	}
	if f, _ := pm.Meta(MetaFormat); f != formatV1 {
		return nil, fmt.Errorf("%w: metadata %s is %q, want %q", ErrInvalid, MetaFormat, f, formatV1)
	}
	m := &Model{Meta: map[string]string{}}
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
