// Package train fits the intent classifier in plain Go and measures it.
//
// Training is mini-batch Adam on the cross-entropy loss of a softmax
// regression or a one-hidden-layer MLP over hashed n-gram features. Inputs
// are sparse, so only the weight rows a batch touches are updated ("lazy"
// Adam); work inside a batch is split over a fixed number of workers by
// output column, so the result is the same bytes for the same data, seed
// and settings on any machine of the same architecture.
//
// ReadCSV reads the training format (a header row, then text,label), and
// Evaluate computes accuracy, a per-intent table and the most confused
// pairs.
package train
