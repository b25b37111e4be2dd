package onnxpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed marks bytes that are not a well-formed ModelProto.
var ErrMalformed = errors.New("malformed onnx protobuf")

// Unmarshal decodes a ModelProto.
func Unmarshal(b []byte) (*Model, error) {
	m := &Model{}
	err := fields(b, func(num protowire.Number, f field) error {
		var err error
		switch num {
		case modelIRVersion:
			m.IRVersion, err = f.int64()
		case modelProducerName:
			m.ProducerName, err = f.string()
		case modelProducerVersion:
			m.ProducerVersion, err = f.string()
		case modelGraph:
			err = m.Graph.unmarshal(f.bytes)
		case modelOpsetImport:
			var o Opset
			err = fields(f.bytes, func(num protowire.Number, f field) error {
				var err error
				switch num {
				case opsetDomain:
					o.Domain, err = f.string()
				case opsetVersion:
					o.Version, err = f.int64()
				}
				return err
			})
			m.Opsets = append(m.Opsets, o)
		case modelMetadataProps:
			var kv KV
			err = fields(f.bytes, func(num protowire.Number, f field) error {
				var err error
				switch num {
				case kvKey:
					kv.Key, err = f.string()
				case kvValue:
					kv.Value, err = f.string()
				}
				return err
			})
			m.Metadata = append(m.Metadata, kv)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (g *Graph) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, f field) error {
		switch num {
		case graphNode:
			var n Node
			if err := n.unmarshal(f.bytes); err != nil {
				return err
			}
			g.Nodes = append(g.Nodes, n)
		case graphName:
			s, err := f.string()
			g.Name = s
			return err
		case graphInitializer:
			var t Tensor
			if err := t.unmarshal(f.bytes); err != nil {
				return err
			}
			g.Initializers = append(g.Initializers, t)
		case graphInput, graphOutput:
			var v ValueInfo
			if err := v.unmarshal(f.bytes); err != nil {
				return err
			}
			if num == graphInput {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		}
		return nil
	})
}

func (n *Node) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, f field) error {
		var err error
		var s string
		switch num {
		case nodeInput:
			s, err = f.string()
			n.Inputs = append(n.Inputs, s)
		case nodeOutput:
			s, err = f.string()
			n.Outputs = append(n.Outputs, s)
		case nodeName:
			n.Name, err = f.string()
		case nodeOpType:
			n.OpType, err = f.string()
		case nodeDomain:
			n.Domain, err = f.string()
		case nodeAttribute:
			var a Attr
			err = a.unmarshal(f.bytes)
			n.Attrs = append(n.Attrs, a)
		}
		return err
	})
}

func (a *Attr) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, f field) error {
		var err error
		switch num {
		case attrName:
			a.Name, err = f.string()
		case attrType:
			var t int64
			t, err = f.int64()
			a.Type = int(t)
		case attrF:
			if f.typ != protowire.Fixed32Type {
				return fmt.Errorf("%w: attribute float has wire type %d", ErrMalformed, f.typ)
			}
			a.F = math.Float32frombits(uint32(f.scalar))
		case attrI:
			a.I, err = f.int64()
		case attrInts:
			a.Ints, err = f.int64s(a.Ints)
		}
		return err
	})
}

func (t *Tensor) unmarshal(b []byte) error {
	var dataType int64 = Float
	var raw []byte
	var int32s []int64
	err := fields(b, func(num protowire.Number, f field) error {
		var err error
		switch num {
		case tensorDims:
			t.Dims, err = f.int64s(t.Dims)
		case tensorDataType:
			dataType, err = f.int64()
		case tensorName:
			t.Name, err = f.string()
		case tensorRawData:
			raw = f.bytes
		case tensorFloatData:
			t.Float, err = f.float32s(t.Float)
		case tensorInt32Data:
			// int32_data is packed varints like int64s; an int8 tensor
			// keeps one value per entry.
			int32s, err = f.int64s(int32s)
		}
		return err
	})
	if err != nil {
		return err
	}
	var got int
	switch dataType {
	case Float:
		if raw != nil {
			if len(raw)%4 != 0 {
				return fmt.Errorf("%w: tensor %q raw data is %d bytes", ErrMalformed, t.Name, len(raw))
			}
			t.Float = make([]float32, len(raw)/4)
			for i := range t.Float {
				t.Float[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		}
		got = len(t.Float)
	case Int8:
		t.Float = nil
		if raw != nil {
			t.Int8 = make([]int8, len(raw))
			for i, c := range raw {
				t.Int8[i] = int8(c)
			}
		} else {
			t.Int8 = make([]int8, len(int32s))
			for i, v := range int32s {
				if v < math.MinInt8 || v > math.MaxInt8 {
					return fmt.Errorf("%w: tensor %q holds %d, not an int8", ErrMalformed, t.Name, v)
				}
				t.Int8[i] = int8(v)
			}
		}
		got = len(t.Int8)
	default:
		return fmt.Errorf("%w: tensor %q has data type %d, only float and int8 are supported", ErrMalformed, t.Name, dataType)
	}
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	if n != int64(got) {
		return fmt.Errorf("%w: tensor %q has dims %v but %d values", ErrMalformed, t.Name, t.Dims, got)
	}
	return nil
}

func (v *ValueInfo) unmarshal(b []byte) error {
	return fields(b, func(num protowire.Number, f field) error {
		switch num {
		case valueInfoName:
			s, err := f.string()
			v.Name = s
			return err
		case valueInfoType:
			return fields(f.bytes, func(num protowire.Number, f field) error {
				if num != typeTensor {
					return nil
				}
				return fields(f.bytes, func(num protowire.Number, f field) error {
					switch num {
					case tensorElemType:
						t, err := f.int64()
						v.ElemType = int32(t)
						return err
					case tensorShape:
						return fields(f.bytes, func(num protowire.Number, f field) error {
							if num != shapeDim {
								return nil
							}
							var d Dim
							err := fields(f.bytes, func(num protowire.Number, f field) error {
								var err error
								switch num {
								case dimValue:
									d.Value, err = f.int64()
								case dimParam:
									d.Param, err = f.string()
								}
								return err
							})
							v.Shape = append(v.Shape, d)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
}

// field is one decoded field: scalar for varint and fixed types, bytes for
// length-delimited ones.
type field struct {
	typ    protowire.Type
	scalar uint64
	bytes  []byte
}

// fields walks the fields of one message, calling fn for each; groups and
// unknown fields are skipped.
func fields(b []byte, fn func(protowire.Number, field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		var f field
		f.typ = typ
		switch typ {
		case protowire.VarintType:
			f.scalar, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.scalar = uint64(v)
		case protowire.Fixed64Type:
			f.scalar, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				b = b[n:]
				continue
			}
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, f); err != nil {
			return err
		}
	}
	return nil
}

func (f field) int64() (int64, error) {
	if f.typ != protowire.VarintType {
		return 0, fmt.Errorf("%w: want varint, got wire type %d", ErrMalformed, f.typ)
	}
	return int64(f.scalar), nil
}

func (f field) string() (string, error) {
	if f.typ != protowire.BytesType {
		return "", fmt.Errorf("%w: want bytes, got wire type %d", ErrMalformed, f.typ)
	}
	return string(f.bytes), nil
}

// int64s appends a repeated int64 in either packed or unpacked form.
func (f field) int64s(dst []int64) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.scalar)), nil
	case protowire.BytesType:
		b := f.bytes
		for len(b) > 0 {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("%w: packed ints: %w", ErrMalformed, protowire.ParseError(n))
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: repeated int64 has wire type %d", ErrMalformed, f.typ)
}

// float32s appends a repeated float in either packed or unpacked form.
func (f field) float32s(dst []float32) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.scalar))), nil
	case protowire.BytesType:
		if len(f.bytes)%4 != 0 {
			return nil, fmt.Errorf("%w: packed floats of %d bytes", ErrMalformed, len(f.bytes))
		}
		for i := 0; i < len(f.bytes); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.bytes[i:])))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("%w: repeated float has wire type %d", ErrMalformed, f.typ)
}
