package learn

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/train"
)

// The held-out side of a text depends on the text alone (after
// normalisation), and about a tenth is held out.
func TestHeldOutIsByText(t *testing.T) {
	var held int
	const n = 5000
	for i := range n {
		text := fmt.Sprintf("where is order %d", i)
		if HeldOut(text) != HeldOut("  Where is ORDER "+fmt.Sprint(i)+" ") {
			t.Fatalf("%q: case and spaces moved it", text)
		}
		if HeldOut(text) {
			held++
		}
	}
	if held < n/20 || held > n/5 {
		t.Fatalf("%d of %d held out, want about a tenth", held, n)
	}
	fit, heldOut := Split([]train.Example{{Text: "a"}, {Text: "a"}, {Text: "b"}, {Text: "c"}, {Text: "d"}, {Text: "e"}})
	for _, e := range heldOut {
		for _, f := range fit {
			if e.Text == f.Text {
				t.Fatalf("%q on both sides", e.Text)
			}
		}
	}
}

func TestMergeLetsLabelsWin(t *testing.T) {
	got := Merge([]train.Example{{Text: "Where is my order", Label: "order_status"}, {Text: "refund me", Label: "refund"}},
		[]train.Example{{Text: "where is my order", Label: "shipping"}})
	want := "[{refund me refund} {where is my order shipping}]"
	if fmt.Sprint(got) != want {
		t.Fatalf("Merge = %v, want %s", got, want)
	}
}

// Neither model is scored on what the candidate trained on: a labelled
// text equal to an evaluation text is left out of training, and a
// retrain with no labels, of a model trained on the same data, is no
// better than it.
func TestRetrainScoresOnUnseenMessages(t *testing.T) {
	shipped, err := train.ReadCSV(bytes.NewReader(model.Training()))
	if err != nil {
		t.Fatal(err)
	}
	eval, err := bot.ShippedEvaluation()
	if err != nil {
		t.Fatal(err)
	}
	cur, err := nn.UnmarshalONNX(model.Default())
	if err != nil {
		t.Fatal(err)
	}
	// The evaluation text, "labelled" in the fit part: it must not be
	// trained on (the candidate would score it for free).
	var leak train.Example
	for _, e := range eval {
		if !HeldOut(e.Text) {
			leak = e
			break
		}
	}
	r, err := Retrain(context.Background(), Input{Shipped: shipped, Evaluation: eval, Labelled: []train.Example{leak}, Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	if r.HeldOutSize != len(eval) || r.Labelled != 1 {
		t.Fatalf("held out %d (want %d), labelled %d", r.HeldOutSize, len(eval), r.Labelled)
	}
	inEval := map[string]bool{}
	for _, e := range eval {
		inEval[featurize.Normalize(e.Text)] = true
	}
	var want int
	for _, e := range shipped {
		if !inEval[featurize.Normalize(e.Text)] {
			want++
		}
	}
	if r.TrainSize != want {
		t.Fatalf("trained on %d examples, want the %d shipped ones that are not evaluation texts", r.TrainSize, want)
	}
	if r.Install != (r.NewAccuracy >= r.OldAccuracy) || r.Reason == "" || r.Model == nil {
		t.Fatalf("result %+v", r)
	}
	if _, err := Retrain(context.Background(), Input{Shipped: shipped, Current: cur}); err == nil {
		t.Fatal("a retrain with nothing held out did not fail")
	}
}
