package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/nn"
)

func TestReadCSV(t *testing.T) {
	want := []Example{{"hi, there", "greeting"}, {"refund please", "refund"}}
	for name, in := range map[string]string{
		"text,label":        "text,label\n\"hi, there\",greeting\nrefund please,refund,extra\n",
		"label,text":        "label,text\ngreeting,\"hi, there\"\nrefund,refund please\n",
		"banking77's names": "Text , Category\n\"hi, there\",greeting\nrefund please,refund\n",
		"BOM and an extra":  "\ufeffid,text,intent\n1,\"hi, there\",greeting\n2,refund please,refund\n",
	} {
		got, err := ReadCSV(strings.NewReader(in))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: got %+v, %v; want %+v", name, got, err, want)
		}
	}
	for name, in := range map[string]string{
		"empty":       "",
		"header only": "text,label\n",
		"no header":   "where is my order,order_status\nhi,greeting\n", // would lose a row and read labels as data
		"no label":    "text,comment\nhello,x\n",
		"one column":  "text,label\nhello\n",
		"empty label": "text,label\nhello,\n",
		"bad quote":   "text,label\n\"hello,greeting\n",
	} {
		if _, err := ReadCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		} else if name == "no header" && !strings.Contains(err.Error(), "header") {
			t.Errorf("no header: %v does not say what the first row must be", err)
		}
	}
	texts, err := ReadTexts(strings.NewReader("text\nhow do I bake bread\n今天天气怎么样\n"))
	if err != nil || !slices.Equal(texts, []string{"how do I bake bread", "今天天气怎么样"}) {
		t.Errorf("ReadTexts: %q, %v", texts, err)
	}
}

func TestAddBackground(t *testing.T) {
	ex := []Example{{"Where is my order", "order_status"}}
	got := AddBackground(ex, []string{"where is  my ORDER", "tell me a joke", "tell me a joke", " "})
	want := []Example{{"Where is my order", "order_status"}, {"tell me a joke", nn.OutOfScope}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestSweep(t *testing.T) {
	scored := []Scored{
		{Label: "a", Intent: "a", Confidence: 0.9},
		{Label: "a", Intent: "b", Confidence: 0.6}, // wrong, confident
		{Label: "b", Intent: "b", Confidence: 0.3},
		{Label: "b", Intent: nn.OutOfScope, Confidence: 0.8}, // never answered
		{Label: nn.OutOfScope, Intent: "a", Confidence: 0.5}, // a false accept below 0.6
		{Label: nn.OutOfScope, Intent: nn.OutOfScope, Confidence: 0.9},
	}
	rows := Sweep(scored, []float64{0, 0.55, 0.95})
	if r := rows[0]; r.InScope != 4 || r.OutOfScope != 2 || r.Answered != 0.75 || r.Correct != 0.5 || r.FalseAccepts != 0.5 || r.Precision != 0.5 {
		t.Errorf("at 0: %+v", r)
	}
	if r := rows[1]; r.Answered != 0.5 || r.Correct != 0.25 || r.FalseAccepts != 0 || r.Precision != 0.5 {
		t.Errorf("at 0.55: %+v", r)
	}
	if r := rows[2]; r.Answered != 0 || r.Precision != 1 {
		t.Errorf("at 0.95: %+v", r)
	}
	row, ok := ThresholdFor(scored, 0.9)
	if !ok || row.Threshold != 0.8 || row.Correct != 0.25 { // the lowest confidence seen above the wrong answer at 0.6
		t.Errorf("ThresholdFor 0.9: %+v, %v", row, ok)
	}
	if _, ok := ThresholdFor([]Scored{{Label: "a", Intent: "b", Confidence: 1}}, 0.5); ok {
		t.Error("a threshold for a model that is always wrong")
	}
}

func shopData(t *testing.T) []Example {
	t.Helper()
	ex, err := ReadCSVFile("../model/train.csv")
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestTrainIsReproducible is what `make model` relies on: same data, seed
// and settings, same bytes.
func TestTrainIsReproducible(t *testing.T) {
	ex := shopData(t)
	for _, hidden := range []int{-1, 16} {
		cfg := Config{Features: featurize.Config{Dims: 1 << 12}, Hidden: hidden, Epochs: 2, Seed: 7, Dropout: 0.1}
		var out [2][]byte
		for i := range out {
			m, err := Train(context.Background(), ex, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if out[i], err = m.MarshalONNX(); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[0], out[1]) {
			t.Errorf("hidden %d: two runs with the same seed wrote different models", hidden)
		}
		cfg.Seed = 8
		m, _ := Train(context.Background(), ex, cfg)
		other, _ := m.MarshalONNX()
		if hidden > 0 && bytes.Equal(other, out[0]) {
			t.Errorf("hidden %d: another seed wrote the same model", hidden)
		}
	}
}

func TestTrainFitsShopData(t *testing.T) {
	ex := shopData(t)
	m, err := Train(context.Background(), ex, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := Labels(ex); len(got) != m.Classes() {
		t.Fatalf("%d classes for %d labels", m.Classes(), len(got))
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := WriteModel(path, m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := nn.UnmarshalONNX(b)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Meta["syncd.train.examples"] != fmt.Sprint(len(ex)) {
		t.Errorf("training metadata missing: %v", m2.Meta)
	}
	f, _ := featurize.New(m2.Features)
	predicted := make([]string, len(ex))
	var v featurize.Vector
	out, hidden := make([]float32, m2.Classes()), make([]float32, m2.Hidden())
	for i, e := range ex {
		f.Transform(e.Text, &v)
		j, _ := nn.Argmax(m2.Forward(v, hidden, out))
		predicted[i] = m2.Labels[j]
	}
	if r := Evaluate(ex, predicted); r.Accuracy < 0.98 {
		t.Errorf("training-set accuracy %.3f, want >= 0.98", r.Accuracy)
	}
}

func TestTrainHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, shopData(t), Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestEvaluate(t *testing.T) {
	ex := []Example{{"1", "a"}, {"2", "a"}, {"3", "a"}, {"4", "b"}, {"5", "b"}, {"6", "c"}}
	pred := []string{"a", "a", "b", "b", "a", "c"}
	r := Evaluate(ex, pred)
	if r.Correct != 4 || r.Total != 6 {
		t.Fatalf("got %d/%d correct, want 4/6", r.Correct, r.Total)
	}
	a := r.PerLabel[0]
	// a: tp 2, fp 1 (the b predicted as a), fn 1.
	if a.Label != "a" || a.Precision != 2.0/3 || a.Recall != 2.0/3 || a.Support != 3 {
		t.Errorf("row a = %+v", a)
	}
	if len(r.Confused) != 2 || r.Confused[0].Count != 1 {
		t.Errorf("confused = %+v", r.Confused)
	}
	var sb strings.Builder
	if err := r.Write(&sb, 5); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accuracy 0.6667 (4/6)", "precision", "a -> b", "b -> a"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, sb.String())
		}
	}
}

// With Hidden 0 the trainer compares a softmax regression with a hidden
// layer on held-out data and says which it kept and why; too little data
// keeps the linear model.
func TestTrainChoosesHidden(t *testing.T) {
	ex := shopData(t)
	m, err := Train(context.Background(), ex, Config{Seed: 1, Features: featurize.Config{Dims: 1 << 12}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Meta["syncd.train.hidden_choice"], "by held-out accuracy") {
		t.Errorf("no choice recorded: %v", m.Meta)
	}
	m, err = Train(context.Background(), ex[:50], Config{Seed: 1, Features: featurize.Config{Dims: 1 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Hidden() != 0 || !strings.Contains(m.Meta["syncd.train.hidden_choice"], "too few") {
		t.Errorf("50 examples: hidden %d, %q", m.Hidden(), m.Meta["syncd.train.hidden_choice"])
	}
	// Sizes in int8: four members of 128 over 2^13 features are 4 MiB.
	for width, want := range map[int]int{16: DefaultDims, 78: 1 << 14, DefaultHidden * DefaultMembers: 1 << 13} {
		if got := defaultDims(width); got != want {
			t.Errorf("defaultDims(%d) = %d, want %d", width, got, want)
		}
	}
}

// The members of an ensemble are averaged in logit space: the joined
// model's probabilities are the softmax of the mean of the members'
// log-probabilities (which differ from their logits by a constant each).
func TestAverageMembers(t *testing.T) {
	ex := shopData(t)
	cfg := Config{Seed: 3, Hidden: 16, Members: 1, Epochs: 1, Features: featurize.Config{Dims: 1 << 10}}
	var members []*nn.Model
	for seed := range uint64(3) {
		cfg.Seed = seed
		m, err := fit(context.Background(), ex, cfg)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, m)
	}
	joined := average(members)
	if joined.Hidden() != 48 || joined.Validate() != nil {
		t.Fatalf("joined hidden %d, %v", joined.Hidden(), joined.Validate())
	}
	f, _ := featurize.New(joined.Features)
	var v featurize.Vector
	c := joined.Classes()
	for _, e := range ex[:50] {
		f.Transform(e.Text, &v)
		want := make([]float32, c)
		for _, m := range members {
			p := m.Forward(v, make([]float32, m.Hidden()), make([]float32, c))
			for j := range want {
				want[j] += float32(math.Log(float64(p[j]))) / float32(len(members))
			}
		}
		nn.Softmax(want)
		got := joined.Forward(v, make([]float32, joined.Hidden()), make([]float32, c))
		for j := range want {
			if d := math.Abs(float64(got[j] - want[j])); d > 1e-5 {
				t.Fatalf("%q class %d: joined %v, members' mean %v", e.Text, j, got[j], want[j])
			}
		}
	}
	// The default: members on seeds Seed, Seed+1, ... joined, and a first
	// layer over 4 MiB in float32 stored as int8.
	m, err := fit(context.Background(), ex, Config{Seed: 0, Hidden: 16, Members: 3, Epochs: 1, Features: featurize.Config{Dims: 1 << 17}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Hidden() != 48 || m.Layers[0].Scale == nil {
		t.Errorf("hidden %d, int8 %v; want 48, true", m.Hidden(), m.Layers[0].Scale != nil)
	}
}
