// Package learn retrains the intent model on what the agents labelled in
// the console: it splits the data into a training part and a held-out part
// that does not depend on row order or on the run, trains a candidate with
// bot/train's defaults, scores the current model and the candidate on the
// held-out part, and says whether the candidate may replace the current
// model (only if it is not worse). The command line (`syncd bot retrain`)
// reads the data, writes the model file and records the outcome.
package learn
