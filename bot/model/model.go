// Package model ships the default intent model: default.onnx, trained by
// `make model` from train.csv (English and Chinese utterances of a shop's
// customer-service intents). The model is built into the binary so syncd
// needs no model file to run the bot.
package model

import _ "embed"

//go:embed default.onnx
var defaultONNX []byte

// Default returns the built-in model's ONNX bytes. Callers must not modify
// them.
func Default() []byte { return defaultONNX }
