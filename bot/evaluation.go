package bot

import (
	"bytes"
	_ "embed"
	"fmt"

	"github.com/syncd-dev/syncd/bot/train"
)

// The shipped model's evaluation sets: labelled shop messages in English
// and Chinese that are not in its training data. `syncd bot retrain`
// scores the current and the retrained model on them, so they ship inside
// the binary.
var (
	//go:embed testdata/shop/eval_en.csv
	evalEN []byte
	//go:embed testdata/shop/eval_zh.csv
	evalZH []byte
)

// ShippedEvaluation returns the evaluation sets of the shipped model.
func ShippedEvaluation() ([]train.Example, error) {
	var out []train.Example
	for i, b := range [][]byte{evalEN, evalZH} {
		ex, err := train.ReadCSV(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("shipped evaluation set %d: %w", i+1, err)
		}
		out = append(out, ex...)
	}
	return out, nil
}
