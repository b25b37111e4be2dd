package train

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/nn"
)

// Example is one labelled utterance.
type Example struct {
	Text  string
	Label string
}

// labelNames are the header names ReadCSV takes for the label column
// (banking77 calls it category).
var labelNames = []string{"label", "intent", "category"}

// ReadCSV reads labelled examples from CSV whose first row is a header
// naming a "text" and a "label" (or "intent", or "category") column, in
// either order (case and spaces ignored); further columns are ignored. A file without that header is an
// error rather than a guess: a header-less export would otherwise lose its
// first example, and one with label,text would train labels as texts.
// Rows with an empty text or label are errors, naming the line, because a
// silent skip would hide a broken export.
func ReadCSV(r io.Reader) ([]Example, error) {
	return readCSV(r, true)
}

// ReadTexts reads unlabelled texts (background or out-of-scope messages)
// from CSV whose header names a "text" column; a "label" column, if any,
// is ignored.
func ReadTexts(r io.Reader) ([]string, error) {
	ex, err := readCSV(r, false)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(ex))
	for i, e := range ex {
		texts[i] = e.Text
	}
	return texts, nil
}

func readCSV(r io.Reader, labelled bool) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("read csv: empty file, want a header row such as text,label")
	}
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	for i := range head {
		head[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff")))
	}
	textCol, labelCol := slices.Index(head, "text"), slices.IndexFunc(head, func(h string) bool { return slices.Contains(labelNames, h) })
	switch {
	case textCol < 0 && labelled:
		return nil, fmt.Errorf("read csv: line 1 is %q, want a header naming the columns text and label (e.g. text,label)", strings.Join(head, ","))
	case textCol < 0:
		return nil, fmt.Errorf("read csv: line 1 is %q, want a header naming the column text", strings.Join(head, ","))
	case labelCol < 0 && labelled:
		return nil, fmt.Errorf("read csv: header %q has no label column (label, intent or category), want e.g. text,label", strings.Join(head, ","))
	}
	var out []Example
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if textCol >= len(rec) || (labelled && labelCol >= len(rec)) {
			return nil, fmt.Errorf("read csv: line %d: %d fields, want the %s", line, len(rec), strings.Join(head, ","))
		}
		e := Example{Text: strings.TrimSpace(rec[textCol])}
		if labelled {
			e.Label = strings.TrimSpace(rec[labelCol])
		}
		if e.Text == "" || (labelled && e.Label == "") {
			return nil, fmt.Errorf("read csv: line %d: empty text or label", line)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("read csv: no examples")
	}
	return out, nil
}

// ReadCSVFile is ReadCSV on a file.
func ReadCSVFile(path string) ([]Example, error) {
	return readFile(path, ReadCSV)
}

// ReadTextsFile is ReadTexts on a file.
func ReadTextsFile(path string) ([]string, error) {
	return readFile(path, ReadTexts)
}

// ReadTextsBytes is ReadTexts on data in memory (the shipped background).
func ReadTextsBytes(b []byte) ([]string, error) {
	return ReadTexts(bytes.NewReader(b))
}

func readFile[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if err != nil {
		return zero, err // "open PATH: ..." says it all
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// AddBackground returns examples followed by each background text labelled
// nn.OutOfScope, the model's "none of these" class, leaving out texts that
// are already examples: a user's data says what is in scope.
func AddBackground(examples []Example, background []string) []Example {
	seen := make(map[string]bool, len(examples))
	for _, e := range examples {
		seen[featurize.Normalize(e.Text)] = true
	}
	out := slices.Clip(examples)
	for _, t := range background {
		if k := featurize.Normalize(t); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, Example{Text: strings.TrimSpace(t), Label: nn.OutOfScope})
		}
	}
	return out
}
