package onnxrt

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// SessionOptions tune a Session. Zero means ONNX Runtime's default.
type SessionOptions struct {
	// IntraOpThreads bounds the threads one Run uses.
	IntraOpThreads int
}

// Session is one loaded model with a single float32 input [N, In] and a
// single float32 output [N, Out]. Run is safe for concurrent use; Close must
// not race with Run (the bot's model bundle guarantees that).
type Session struct {
	s       *ort.DynamicAdvancedSession
	in, out int
}

// NewSession creates a session for model bytes. Init must have succeeded.
func NewSession(model []byte, input, output string, in, out int, opt SessionOptions) (*Session, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	if opt.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opt.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	// Spinning workers make a batch a few microseconds faster and burn a
	// core between batches; a daemon that is mostly idle wants them asleep.
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{input}, []string{output}, so)
	if err != nil {
		return nil, fmt.Errorf("create onnx session: %w", err)
	}
	return &Session{s: s, in: in, out: out}, nil
}

// Run computes the output for n rows of x (len n*In, row-major) into y (len
// n*Out). Both slices must stay untouched until Run returns: ONNX Runtime
// reads and writes them in place.
func (s *Session) Run(x []float32, n int, y []float32) error {
	if len(x) < n*s.in || len(y) < n*s.out {
		return fmt.Errorf("run onnx session: %d inputs and %d outputs for %d rows of [%d]->[%d]", len(x), len(y), n, s.in, s.out)
	}
	xt, err := ort.NewTensor(ort.NewShape(int64(n), int64(s.in)), x)
	if err != nil {
		return fmt.Errorf("input tensor: %w", err)
	}
	defer xt.Destroy()
	yt, err := ort.NewTensor(ort.NewShape(int64(n), int64(s.out)), y)
	if err != nil {
		return fmt.Errorf("output tensor: %w", err)
	}
	defer yt.Destroy()
	if err := s.s.Run([]ort.Value{xt}, []ort.Value{yt}); err != nil {
		return fmt.Errorf("run onnx session: %w", err)
	}
	return nil
}

// Close frees the session.
func (s *Session) Close() error {
	if err := s.s.Destroy(); err != nil {
		return fmt.Errorf("destroy onnx session: %w", err)
	}
	return nil
}
