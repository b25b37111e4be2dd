// Package featurize turns a customer message into the fixed-size feature
// vector that the intent model reads.
//
// The steps are: Unicode NFKC normalisation, lower case and collapsed white
// space (Normalize); word n-grams over letter/digit tokens, where every CJK
// rune is a token of its own so Chinese needs no word segmenter; character
// n-grams inside each white-space separated chunk, padded with a space at
// both ends (scikit-learn's "char_wb"); each n-gram hashed with FNV-1a into
// Config.Dims buckets; sublinear term frequency (1+ln tf); and L2
// normalisation.
//
// The Config travels in the model file's metadata, so a model is always read
// with the featuriser it was trained with.
package featurize
