package onnxpb

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func sample() *Model {
	return &Model{
		IRVersion:    8,
		Opsets:       []Opset{{Version: 17}},
		ProducerName: "test",
		Graph: Graph{
			Name: "g",
			Nodes: []Node{
				{Name: "fc", OpType: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}},
				{Name: "sm", OpType: "Softmax", Inputs: []string{"y"}, Outputs: []string{"p"},
					Attrs: []Attr{{Name: "axis", Type: AttrInt, I: -1}, {Name: "alpha", Type: AttrFloat, F: 0.5}, {Name: "perm", Type: AttrInts, Ints: []int64{1, 0}}}},
			},
			Initializers: []Tensor{
				{Name: "w", Dims: []int64{2, 3}, Float: []float32{1, -2, 3.5, 0, 1e-7, -0}},
				{Name: "b", Dims: []int64{3}, Float: []float32{0.1, 0.2, 0.3}},
				{Name: "q", Dims: []int64{2, 2}, Int8: []int8{-128, -1, 0, 127}},
			},
			Inputs:  []ValueInfo{{Name: "x", ElemType: Float, Shape: []Dim{{Param: "batch"}, {Value: 2}}}},
			Outputs: []ValueInfo{{Name: "p", ElemType: Float, Shape: []Dim{{Param: "batch"}, {Value: 3}}}},
		},
		Metadata: []KV{{Key: "a", Value: "1"}, {Key: "b", Value: "{\"x\":[1]}"}},
	}
}

func TestRoundTrip(t *testing.T) {
	m := sample()
	b := m.Marshal()
	if !bytes.Equal(b, sample().Marshal()) {
		t.Fatal("Marshal is not deterministic")
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, m)
	}
	if v, ok := got.Meta("b"); !ok || v != `{"x":[1]}` {
		t.Errorf("Meta(b) = %q, %v", v, ok)
	}
	if got.Graph.Initializer("w") == nil || got.Graph.Initializer("nope") != nil {
		t.Error("Initializer lookup is wrong")
	}
}

func TestMalformed(t *testing.T) {
	good := sample().Marshal()
	for name, b := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"garbage":   []byte("this is not an onnx model"),
		"bad tag":   {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		if _, err := Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// An int8 tensor may also come as int32_data (one varint per value), the
// way some exporters write small tensors; values outside int8 are refused.
func TestInt8FromInt32Data(t *testing.T) {
	tensor := func(vals ...int64) []byte {
		var b []byte
		b = protowire.AppendTag(b, tensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(len(vals)))
		b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
		b = protowire.AppendVarint(b, Int8)
		var packed []byte
		for _, v := range vals {
			packed = protowire.AppendVarint(packed, uint64(v))
		}
		b = protowire.AppendTag(b, tensorInt32Data, protowire.BytesType)
		return protowire.AppendBytes(b, packed)
	}
	var got Tensor
	if err := got.unmarshal(tensor(-128, -1, 0, 127)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Int8, []int8{-128, -1, 0, 127}) || got.Float != nil {
		t.Errorf("got %+v", got)
	}
	var bad Tensor
	if err := bad.unmarshal(tensor(1, 200)); !errors.Is(err, ErrMalformed) {
		t.Errorf("200 as int8: got %v, want ErrMalformed", err)
	}
}
