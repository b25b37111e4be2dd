package bot

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/train"
)

// banking77Config is what `syncd bot train --dims 32768 --hidden 128` runs;
// docs/benchmarks-bot.md reports its numbers.
var banking77Config = train.Config{
	Features: featurize.Config{Dims: 1 << 15},
	Hidden:   128,
	Seed:     1,
}

// TestBanking77Accuracy trains on banking77's train split and evaluates on
// its test split through ONNX Runtime, as `syncd bot train` and `syncd bot
// eval` do. The data set (CC BY 4.0, PolyAI) is copied, with its licence
// and source, into testdata/banking77.
func TestBanking77Accuracy(t *testing.T) {
	requireRuntime(t)
	dir := filepath.Join("testdata", "banking77")
	trainSet, err := train.ReadCSVFile(filepath.Join(dir, "train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	testSet, err := train.ReadCSVFile(filepath.Join(dir, "test.csv"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	m, err := train.Train(context.Background(), trainSet, banking77Config)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	path := filepath.Join(t.TempDir(), "banking77.onnx")
	if err := train.WriteModel(path, m); err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, Options{ModelPath: path, CacheSize: -1})
	predicted := make([]string, 0, len(testSet))
	for lo := 0; lo < len(testSet); lo += 500 {
		var texts []string
		for _, e := range testSet[lo:min(lo+500, len(testSet))] {
			texts = append(texts, e.Text)
		}
		res, err := s.Classify(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			predicted = append(predicted, r.Intent)
		}
	}
	r := train.Evaluate(testSet, predicted)
	var sb strings.Builder
	r.Write(&sb, 5)
	t.Logf("trained on %d examples in %s\n%s", len(trainSet), took.Round(time.Millisecond), sb.String())
	if r.Accuracy < 0.91 {
		t.Errorf("banking77 test accuracy %.4f, want >= 0.91", r.Accuracy)
	}
}
