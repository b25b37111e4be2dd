// Package nn holds the intent classifier's weights and the pure-Go forward
// pass over them, and converts them to and from a standard ONNX model.
//
// A Model is one or two dense layers over the featuriser's output:
//
//	linear:  probabilities = Softmax(x·W + b)
//	MLP:     probabilities = Softmax(ReLU(x·W1 + b1)·W2 + b2)
//
// Forward computes exactly that in Go, from the sparse feature vector. The
// ONNX graph that MarshalONNX writes computes the same thing with Gemm, Relu
// and Softmax on a dense float32 [N, D] input, so ONNX Runtime can run it in
// the relay; tests check the two agree. The labels and the featuriser
// settings go into the model's metadata_props, so one .onnx file is all the
// bot needs.
package nn
