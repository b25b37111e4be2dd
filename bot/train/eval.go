package train

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
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
