package train

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Example is one labelled utterance.
type Example struct {
	Text  string
	Label string
}

// ReadCSV reads examples from CSV with a header row and the text in the
// first column, the label in the second; further columns are ignored. Rows
// with an empty text or label are errors, naming the line, because a silent
// skip would hide a broken export.
func ReadCSV(r io.Reader) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("read csv: no header row")
		}
		return nil, fmt.Errorf("read csv header: %w", err)
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
		if len(rec) < 2 {
			return nil, fmt.Errorf("read csv: line %d: want text,label, got %d fields", line, len(rec))
		}
		text, label := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if text == "" || label == "" {
			return nil, fmt.Errorf("read csv: line %d: empty text or label", line)
		}
		out = append(out, Example{Text: text, Label: label})
	}
	if len(out) == 0 {
		return nil, errors.New("read csv: no examples")
	}
	return out, nil
}

// ReadCSVFile is ReadCSV on a file.
func ReadCSVFile(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open training data: %w", err)
	}
	defer f.Close()
	ex, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
}
