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

// Session is one loaded intent model: sparse rows in (int64 indices
// [N, nnz] and float32 values [N, 1, nnz]), float32 [N, Out] out. Run is
// safe for concurrent use; Close must not race with Run (the bot's model
// bundle guarantees that).
type Session struct {
	s   *ort.DynamicAdvancedSession
	out int
}

// NewSession creates a session for model bytes whose inputs are named
// indices and values and whose output, of out columns, is named output.
// Init must have succeeded.
func NewSession(model []byte, indices, values, output string, out int, opt SessionOptions) (*Session, error) {
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
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{indices, values}, []string{output}, so)
	if err != nil {
		return nil, fmt.Errorf("create onnx session: %w", err)
	}
	return &Session{s: s, out: out}, nil
}

// Run computes the output for n rows of nnz (index, value) pairs each,
// row-major, into y (len n*Out). Padding pairs are (0, 0). The slices
// must stay untouched until Run returns: ONNX Runtime reads and writes
// them in place.
func (s *Session) Run(indices []int64, values []float32, n, nnz int, y []float32) error {
	if n < 1 || nnz < 1 || len(indices) < n*nnz || len(values) < n*nnz || len(y) < n*s.out {
		return fmt.Errorf("run onnx session: %d indices, %d values and %d outputs for %d rows of %d features -> [%d]",
			len(indices), len(values), len(y), n, nnz, s.out)
	}
	it, err := ort.NewTensor(ort.NewShape(int64(n), int64(nnz)), indices[:n*nnz])
	if err != nil {
		return fmt.Errorf("indices tensor: %w", err)
	}
	defer it.Destroy()
	vt, err := ort.NewTensor(ort.NewShape(int64(n), 1, int64(nnz)), values[:n*nnz])
	if err != nil {
		return fmt.Errorf("values tensor: %w", err)
	}
	defer vt.Destroy()
	yt, err := ort.NewTensor(ort.NewShape(int64(n), int64(s.out)), y[:n*s.out])
	if err != nil {
		return fmt.Errorf("output tensor: %w", err)
	}
	defer yt.Destroy()
	if err := s.s.Run([]ort.Value{it, vt}, []ort.Value{yt}); err != nil {
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
