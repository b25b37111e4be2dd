// Package train fits the intent classifier in plain Go and measures it.
//
// Training is mini-batch Adam on the cross-entropy loss of a softmax
// regression or a one-hidden-layer MLP over hashed n-gram features; the
// MLP is by default an ensemble of four trained on successive seeds and
// joined into one hidden layer whose output averages their logits. By
// default Train compares the two on a held-out tenth of the data and keeps
// the better. A first layer over 4 MiB in float32 is written in int8 with
// one scale per row. Inputs are sparse, so only the weight rows a batch touches
// are updated ("lazy" Adam); work inside a batch is split over a fixed
// number of workers by output column, so the result is the same bytes for
// the same data, seed and settings on any machine of the same
// architecture.
//
// ReadCSV reads the training format (a header naming the text and label
// columns), ReadTexts unlabelled text such as background or out-of-scope
// messages, and AddBackground labels the background nn.OutOfScope. Evaluate
// computes accuracy, a per-intent table and the most confused pairs; Sweep
// and ThresholdFor what a confidence threshold does to in-scope and
// out-of-scope messages.
package train
