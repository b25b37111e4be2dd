package train

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
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
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "accuracy %.4f (%d/%d)\n\n", r.Accuracy, r.Correct, r.Total)
	fmt.Fprintln(tw, "intent\tprecision\trecall\tf1\tsupport\t")
	var macroF1 float64
	for _, s := range r.PerLabel {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%d\t\n", s.Label, s.Precision, s.Recall, s.F1, s.Support)
		macroF1 += s.F1
	}
	if n := len(r.PerLabel); n > 0 {
		fmt.Fprintf(tw, "macro avg\t\t\t%.3f\t%d\t\n", macroF1/float64(n), r.Total)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if len(r.Confused) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nmost confused (true -> predicted):\n")
	for _, c := range r.Confused[:min(top, len(r.Confused))] {
		fmt.Fprintf(w, "  %4d  %s -> %s\n", c.Count, c.True, c.Predicted)
	}
	return nil
}
