// Package bot is syncd's intent bot. It implements bridge.Bot: before a
// relay batch is committed, Assess classifies every customer message with an
// ONNX model and decides, per message, whether the bot's answer goes to the
// customer by itself (AutoReply) or is shown to agents beside the message
// (Suggestion). Business events (any Kind other than "message") skip the
// model: when the answers file has a template for the event kind, the
// rendered template is the auto-reply.
//
// The pieces live in subpackages: featurize turns text into hashed n-gram
// features, nn holds the weights and the pure-Go forward pass and writes
// them as ONNX, onnxpb is the ONNX protobuf subset, onnxrt runs ONNX Runtime,
// and train fits and evaluates models from CSV. bot/model ships the default
// model and the data it was trained on.
//
// A Service owns one ONNX Runtime session per loaded model. A new model file
// (polled by Run, or on Reload) is loaded beside the old one and swapped in
// atomically; the old session is closed once the Assess calls using it have
// returned, so a reload drops no request. A file that does not load keeps
// the old model, with a log line saying why.
//
// Without the ONNX Runtime library New returns an error wrapping
// ErrNoRuntime; syncd then runs without the bot.
package bot
