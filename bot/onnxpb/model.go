package onnxpb

// Data types (TensorProto.DataType) used here.
const (
	Float = 1
	Int8  = 3
	Int64 = 7
)

// Attribute types (AttributeProto.AttributeType) used here.
const (
	AttrFloat = 1
	AttrInt   = 2
	AttrInts  = 7
)

// Model is a ModelProto.
type Model struct {
	IRVersion       int64
	Opsets          []Opset
	ProducerName    string
	ProducerVersion string
	Graph           Graph
	// Metadata is metadata_props, in file order; keys should be distinct.
	Metadata []KV
}

// Opset is an OperatorSetIdProto; Domain "" is the default ONNX domain.
type Opset struct {
	Domain  string
	Version int64
}

// KV is a StringStringEntryProto.
type KV struct{ Key, Value string }

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is a NodeProto.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Attr is an AttributeProto holding a float, an int or a list of ints.
type Attr struct {
	Name string
	Type int
	F    float32
	I    int64
	Ints []int64
}

// Tensor is a float32 or int8 TensorProto: int8 when Int8 is non-nil
// (then Float is unused). Data is written as raw_data (little-endian), and
// read from raw_data, float_data or, for int8, int32_data.
type Tensor struct {
	Name  string
	Dims  []int64
	Float []float32
	Int8  []int8
}

// ValueInfo is a ValueInfoProto of tensor type.
type ValueInfo struct {
	Name     string
	ElemType int32
	// Shape has one entry per dimension: a fixed size, or a named symbolic
	// one (Param) such as the batch size.
	Shape []Dim
}

// Dim is a TensorShapeProto.Dimension.
type Dim struct {
	Value int64
	Param string
}

// Meta returns the value of metadata key k.
func (m *Model) Meta(k string) (string, bool) {
	for _, kv := range m.Metadata {
		if kv.Key == k {
			return kv.Value, true
		}
	}
	return "", false
}

// Initializer returns the initializer named name, or nil.
func (g *Graph) Initializer(name string) *Tensor {
	for i := range g.Initializers {
		if g.Initializers[i].Name == name {
			return &g.Initializers[i]
		}
	}
	return nil
}
