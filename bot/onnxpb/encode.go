package onnxpb

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from onnx.proto.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	kvKey   = 1
	kvValue = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName = 1
	attrF    = 2
	attrI    = 3
	attrInts = 8
	attrType = 20

	tensorDims      = 1
	tensorDataType  = 2
	tensorFloatData = 4
	tensorInt32Data = 5
	tensorName      = 8
	tensorRawData   = 9

	valueInfoName = 1
	valueInfoType = 2

	typeTensor     = 1
	tensorElemType = 1
	tensorShape    = 2
	shapeDim       = 1
	dimValue       = 1
	dimParam       = 2
)

// Marshal encodes m as a ModelProto.
func (m *Model) Marshal() []byte {
	var b []byte
	b = appendVarint(b, modelIRVersion, uint64(m.IRVersion))
	b = appendString(b, modelProducerName, m.ProducerName)
	b = appendString(b, modelProducerVersion, m.ProducerVersion)
	b = appendMessage(b, modelGraph, m.Graph.marshal(nil))
	for _, o := range m.Opsets {
		var ob []byte
		ob = appendString(ob, opsetDomain, o.Domain)
		ob = appendVarint(ob, opsetVersion, uint64(o.Version))
		b = appendMessage(b, modelOpsetImport, ob)
	}
	for _, kv := range m.Metadata {
		var kb []byte
		kb = appendString(kb, kvKey, kv.Key)
		kb = appendString(kb, kvValue, kv.Value)
		b = appendMessage(b, modelMetadataProps, kb)
	}
	return b
}

func (g *Graph) marshal(b []byte) []byte {
	for _, n := range g.Nodes {
		b = appendMessage(b, graphNode, n.marshal(nil))
	}
	b = appendString(b, graphName, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, graphInitializer, t.marshal(nil))
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, graphInput, v.marshal(nil))
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, graphOutput, v.marshal(nil))
	}
	return b
}

func (n *Node) marshal(b []byte) []byte {
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, nodeName, n.Name)
	b = appendString(b, nodeOpType, n.OpType)
	for _, a := range n.Attrs {
		b = appendMessage(b, nodeAttribute, a.marshal(nil))
	}
	b = appendString(b, nodeDomain, n.Domain)
	return b
}

func (a *Attr) marshal(b []byte) []byte {
	b = appendString(b, attrName, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrInts:
		var p []byte
		for _, v := range a.Ints {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, attrInts, p)
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Type))
}

func (t *Tensor) marshal(b []byte) []byte {
	var dims []byte
	for _, d := range t.Dims {
		dims = protowire.AppendVarint(dims, uint64(d))
	}
	b = appendMessage(b, tensorDims, dims)
	if t.Int8 != nil {
		b = appendVarint(b, tensorDataType, Int8)
		b = appendString(b, tensorName, t.Name)
		raw := make([]byte, len(t.Int8))
		for i, q := range t.Int8 {
			raw[i] = byte(q)
		}
		b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
		return protowire.AppendBytes(b, raw)
	}
	b = appendVarint(b, tensorDataType, Float)
	b = appendString(b, tensorName, t.Name)
	raw := make([]byte, 4*len(t.Float))
	for i, f := range t.Float {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func (v *ValueInfo) marshal(b []byte) []byte {
	var shape []byte
	for _, d := range v.Shape {
		var db []byte
		if d.Param != "" {
			db = appendString(db, dimParam, d.Param)
		} else {
			db = protowire.AppendTag(db, dimValue, protowire.VarintType)
			db = protowire.AppendVarint(db, uint64(d.Value))
		}
		shape = appendMessage(shape, shapeDim, db)
	}
	var tt []byte
	tt = appendVarint(tt, tensorElemType, uint64(v.ElemType))
	tt = appendMessage(tt, tensorShape, shape)
	b = appendString(b, valueInfoName, v.Name)
	return appendMessage(b, valueInfoType, appendMessage(nil, typeTensor, tt))
}

// appendVarint, appendString and appendMessage write one field, leaving out
// zero scalars the way proto3 does.
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
