// Package onnxpb reads and writes the small part of the ONNX protobuf format
// (onnx.proto) that the intent model uses: a ModelProto with opset imports
// and metadata_props, one GraphProto of nodes with int/float attributes,
// float32 initializers, and tensor-typed inputs and outputs.
//
// It encodes with google.golang.org/protobuf's protowire rather than
// generated code because the whole schema is a dozen fields; the field
// numbers below are onnx.proto's. Unknown fields are skipped on read, so
// files written by other tools load as long as they use these parts.
// Encoding is deterministic: the same Model always gives the same bytes.
package onnxpb
