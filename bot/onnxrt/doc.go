// Package onnxrt runs the intent model through ONNX Runtime
// (github.com/yalue/onnxruntime_go), which loads libonnxruntime at run time.
//
// The library is found by LibraryPath: an explicit path, then the
// SYNCD_ONNXRUNTIME_LIB environment variable, then the cache path that
// scripts/onnxruntime.sh fills. When none exists, callers get ErrNoRuntime
// and syncd runs without the bot.
//
// ONNX Runtime's environment is process-global: Init creates it once and it
// lives until the process exits, shared by every Session, so any number of
// bot services (and tests) can come and go in one process.
package onnxrt
