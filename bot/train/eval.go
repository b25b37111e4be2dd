package train

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/syncd-dev/syncd/bot/nn"
)

// Report is how well predictions match the labelled examples.
type Report struct {
	Total, Correct int
	Accuracy       float64
	PerLabel       []LabelStats // sorted by label
	Confused       []Confusion  // most frequent first
}

// LabelStats is one row of the per-intent table.
type LabelStats struct {
	Label                 string
	Precision, Recall, F1 float64
	Support               int // examples whose true label this is
}

// Confusion counts examples of True predicted as Predicted.
type Confusion struct {
	True, Predicted string
	Count           int
}

// Evaluate compares predicted[i] with examples[i].Label.
func Evaluate(examples []Example, predicted []string) Report {
	type counts struct{ tp, fp, fn, support int }
	per := map[string]*counts{}
	get := func(l string) *counts {
		if per[l] == nil {
			per[l] = &counts{}
		}
		return per[l]
	}
	pairs := map[[2]string]int{}
	r := Report{Total: len(examples)}
	for i, e := range examples {
		p := predicted[i]
		get(e.Label).support++
		if p == e.Label {
			r.Correct++
			get(p).tp++
			continue
		}
		get(p).fp++
		get(e.Label).fn++
		pairs[[2]string{e.Label, p}]++
	}
	if r.Total > 0 {
		r.Accuracy = float64(r.Correct) / float64(r.Total)
	}
	for l, c := range per {
		s := LabelStats{Label: l, Support: c.support}
		if c.tp+c.fp > 0 {
			s.Precision = float64(c.tp) / float64(c.tp+c.fp)
		}
		if c.tp+c.fn > 0 {
			s.Recall = float64(c.tp) / float64(c.tp+c.fn)
		}
		if s.Precision+s.Recall > 0 {
			s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
		}
		r.PerLabel = append(r.PerLabel, s)
	}
	slices.SortFunc(r.PerLabel, func(a, b LabelStats) int { return cmp.Compare(a.Label, b.Label) })
	for k, n := range pairs {
		r.Confused = append(r.Confused, Confusion{True: k[0], Predicted: k[1], Count: n})
	}
	slices.SortFunc(r.Confused, func(a, b Confusion) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.True, b.True), cmp.Compare(a.Predicted, b.Predicted))
	})
	return r
}

// Write prints the accuracy, the per-intent table and the top most
// confused pairs.
func (r Report) Write(w io.Writer, top int) error {
	width := len("macro avg")
	for _, s := range r.PerLabel {
		width = max(width, len(s.Label))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "accuracy %.4f (%d/%d)\n\n", r.Accuracy, r.Correct, r.Total)
	fmt.Fprintf(&b, "%-*s  %9s  %6s  %6s  %7s\n", width, "intent", "precision", "recall", "f1", "support")
	var macroF1 float64
	for _, s := range r.PerLabel {
		fmt.Fprintf(&b, "%-*s  %9.3f  %6.3f  %6.3f  %7d\n", width, s.Label, s.Precision, s.Recall, s.F1, s.Support)
		macroF1 += s.F1
	}
	if n := len(r.PerLabel); n > 0 {
		fmt.Fprintf(&b, "%-*s  %9s  %6s  %6.3f  %7d\n", width, "macro avg", "", "", macroF1/float64(n), r.Total)
	}
	if len(r.Confused) > 0 && top > 0 {
		fmt.Fprintf(&b, "\nmost confused (true -> predicted):\n")
		for _, c := range r.Confused[:min(top, len(r.Confused))] {
			fmt.Fprintf(&b, "  %4d  %s -> %s\n", c.Count, c.True, c.Predicted)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Scored is one evaluated message: its true label (nn.OutOfScope for
// out-of-scope data), the model's intent and confidence.
type Scored struct {
	Text, Label, Intent string
	Confidence          float64
}

// answered says whether the bot would act on s at threshold t: the model
// named an intent, not out of scope, with confidence at least t.
func (s Scored) answered(t float64) bool {
	return s.Intent != nn.OutOfScope && s.Confidence >= t
}

// ThresholdRow is what one confidence threshold does to a labelled set.
type ThresholdRow struct {
	Threshold float64
	// InScope and OutOfScope are the messages of each kind.
	InScope, OutOfScope int
	// Answered is the share of in-scope messages answered; Correct the
	// share answered with the right intent.
	Answered, Correct float64
	// Precision is the share right of everything answered, out-of-scope
	// messages included (so it depends on their share in the data).
	Precision float64
	// FalseAccepts is the share of out-of-scope messages answered.
	FalseAccepts float64
}

// Sweep computes a ThresholdRow per threshold.
func Sweep(scored []Scored, thresholds []float64) []ThresholdRow {
	out := make([]ThresholdRow, len(thresholds))
	for i, t := range thresholds {
		r := ThresholdRow{Threshold: t}
		var answered, correct, accepted int
		for _, s := range scored {
			if s.Label == nn.OutOfScope {
				r.OutOfScope++
				if s.answered(t) {
					accepted++
				}
				continue
			}
			r.InScope++
			if s.answered(t) {
				answered++
				if s.Intent == s.Label {
					correct++
				}
			}
		}
		r.Answered, r.Correct = ratio(answered, r.InScope), ratio(correct, r.InScope)
		r.FalseAccepts = ratio(accepted, r.OutOfScope)
		r.Precision = ratio(correct, answered+accepted)
		if answered+accepted == 0 {
			r.Precision = 1 // nothing answered, nothing wrong
		}
		out[i] = r
	}
	return out
}

// ThresholdFor returns the lowest threshold at which the precision of what
// is answered is at least precision, and its row; ok is false when no
// threshold reaches it.
func ThresholdFor(scored []Scored, precision float64) (row ThresholdRow, ok bool) {
	cands := []float64{0}
	for _, s := range scored {
		cands = append(cands, s.Confidence)
	}
	slices.Sort(cands)
	cands = slices.Compact(cands)
	// Precision is not monotonic in the threshold; take the lowest one
	// from which it stays at or above the target, so a slightly higher
	// setting does not fall below it.
	rows := Sweep(scored, cands)
	best := -1
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Precision < precision {
			break
		}
		if rows[i].Answered > 0 || rows[i].InScope == 0 {
			best = i
		}
	}
	if best < 0 {
		return ThresholdRow{}, false
	}
	return rows[best], true
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// WriteSweep prints the rows as a table; marks name rows (e.g. "auto-reply").
func WriteSweep(w io.Writer, rows []ThresholdRow, marks map[float64]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%9s  %8s  %8s  %9s  %13s\n", "threshold", "answered", "correct", "precision", "oos accepted")
	for _, r := range rows {
		oos := "-"
		if r.OutOfScope > 0 {
			oos = fmt.Sprintf("%.1f%%", 100*r.FalseAccepts)
		}
		fmt.Fprintf(&b, "%9.2f  %7.1f%%  %7.1f%%  %8.1f%%  %13s  %s\n", r.Threshold, 100*r.Answered, 100*r.Correct, 100*r.Precision, oos, marks[r.Threshold])
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
