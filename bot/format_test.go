package bot

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/onnxpb"
	"github.com/syncd-dev/syncd/bot/onnxrt"
)

// A model file in format 1 (a dense float32 [batch, Dims] input named
// "features" and Gemm, as syncd wrote models before format 2) still loads:
// its weights are read and re-encoded as exactly the format-2 file of the
// same weights, which is what the classifier gives ONNX Runtime. (That ONNX
// Runtime computes what the weights say is TestONNXRuntimeMatchesGoForward's
// job.)
func TestFormat1ModelStillLoads(t *testing.T) {
	requireRuntime(t)
	lib, _ := onnxrt.LibraryPath("")
	if err := onnxrt.Init(lib); err != nil {
		t.Fatal(err)
	}
	v2 := smallModel(t, 0, 5)
	pm, err := onnxpb.Unmarshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.UnmarshalONNX(v2)
	if err != nil {
		t.Fatal(err)
	}
	pm.Graph.Inputs = []onnxpb.ValueInfo{{Name: "features", ElemType: onnxpb.Float,
		Shape: []onnxpb.Dim{{Param: "batch"}, {Value: int64(m.Features.Dims)}}}}
	pm.Graph.Nodes = []onnxpb.Node{
		{Name: "fc1", OpType: "Gemm", Inputs: []string{"features", "fc1.weight", "fc1.bias"}, Outputs: []string{"logits"}},
		{Name: "softmax", OpType: "Softmax", Inputs: []string{"logits"}, Outputs: []string{nn.OutputName},
			Attrs: []onnxpb.Attr{{Name: "axis", Type: onnxpb.AttrInt, I: -1}}},
	}
	for i := range pm.Metadata {
		if pm.Metadata[i].Key == nn.MetaFormat {
			pm.Metadata[i].Value = "intent-classifier/1"
		}
	}
	v1 := pm.Marshal()

	old, err := nn.UnmarshalONNX(v1)
	if err != nil {
		t.Fatalf("read format 1: %v", err)
	}
	if !old.FromOldFormat {
		t.Fatal("a format-1 file is not marked as such, so it would reach ONNX Runtime as it is")
	}
	again, err := old.MarshalONNX()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, v2) {
		t.Fatal("format 1 re-encoded differs from the format-2 file of the same weights")
	}
	c, err := newClassifier(v1, "test", fileStamp{}, 0, onnxrt.SessionOptions{})
	if err != nil {
		t.Fatalf("load format 1: %v", err)
	}
	if err := c.retire(); err != nil {
		t.Fatal(err)
	}
}

// Batches reuse pooled buffers; a long batch followed by a short one must
// classify the short one exactly as it would alone, with no features left
// over from the long one.
func TestPooledBuffersDoNotLeak(t *testing.T) {
	s := newTestService(t, Options{CacheSize: -1})
	long := strings.Repeat("I want a refund for my order, the parcel never arrived and nobody answers. ", 20)
	short := []string{"hi", "where is my order", "我要退款", "thanks"}
	alone := make([]Result, len(short))
	for i, text := range short {
		r, err := s.Classify(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		alone[i] = r[0]
	}
	for range 3 {
		if _, err := s.Classify(context.Background(), []string{long, long + " again", long + " and again"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Classify(context.Background(), short)
		if err != nil {
			t.Fatal(err)
		}
		for i := range short {
			if got[i] != alone[i] {
				t.Fatalf("%q after a long batch: %+v, alone %+v", short[i], got[i], alone[i])
			}
		}
	}
}

// sparseBatch reuses the buffers it is given: rows shorter than the
// longest are padded with (0, 0) whatever the buffers held before.
func TestSparseBatchPadsReusedBuffers(t *testing.T) {
	dirtyIdx := []int64{7, 7, 7, 7, 7, 7, 7, 7}
	dirtyVal := []float32{9, 9, 9, 9, 9, 9, 9, 9}
	vecs := []featurize.Vector{
		{Index: []int32{1, 4, 5}, Value: []float32{0.5, 0.25, 0.25}},
		{Index: []int32{2}, Value: []float32{1}},
	}
	idx, val, nnz := sparseBatch(vecs, dirtyIdx, dirtyVal)
	if nnz != 3 || !slices.Equal(idx, []int64{1, 4, 5, 2, 0, 0}) || !slices.Equal(val, []float32{0.5, 0.25, 0.25, 1, 0, 0}) {
		t.Fatalf("nnz %d, indices %v, values %v", nnz, idx, val)
	}
	if &idx[0] != &dirtyIdx[0] || &val[0] != &dirtyVal[0] {
		t.Error("sparseBatch allocated although the buffers were large enough")
	}
}

// A batch over maxKeptBatchBytes is not kept (the free list itself is
// tested in internal/freelist).
func TestOnlySmallBatchesAreKept(t *testing.T) {
	if !(&batch{idx: make([]int64, 0, 1000)}).small() {
		t.Error("a 8 KB batch is not kept")
	}
	big := &batch{vecs: []featurize.Vector{{Index: make([]int32, 0, maxKeptBatchBytes/4+1)}}}
	if big.small() {
		t.Error("a batch over maxKeptBatchBytes is kept")
	}
}
