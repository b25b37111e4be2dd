// Package model ships the default intent model: default.onnx, trained by
// `make model` from train.csv (English and Chinese utterances of a shop's
// customer-service intents) and background.csv (generic messages that are
// no shop's business, the model's out-of-scope class). The model is built
// into the binary so syncd needs no model file to run the bot; the
// background is built in so `syncd bot train` adds it wherever it runs.
package model

import _ "embed"

//go:embed default.onnx
var defaultONNX []byte

//go:embed background.csv
var background []byte

// The training data is built in for `syncd bot retrain`, which trains on
// it plus the agents' labels wherever syncd runs.
//
//go:embed train.csv
var training []byte

// Default returns the built-in model's ONNX bytes. Callers must not modify
// them.
func Default() []byte { return defaultONNX }

// Background returns the shipped background text as CSV (header "text").
// Callers must not modify it.
func Background() []byte { return background }

// Training returns the shipped training data as CSV (header "text,label"),
// the data default.onnx was trained on. Callers must not modify it.
func Training() []byte { return training }
