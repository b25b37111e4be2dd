package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/syncd-dev/syncd/bot/nn"
)

// describe records how m was made in its metadata: settings, seed and a
// checksum of the data. No time stamp, so a rebuild gives the same bytes.
func describe(m *nn.Model, cfg Config, examples []Example) {
	h := sha256.New()
	for _, e := range examples {
		fmt.Fprintf(h, "%q,%q\n", e.Text, e.Label)
	}
	settings, _ := json.Marshal(struct {
		Hidden       int     `json:"hidden"`
		Members      int     `json:"members,omitempty"`
		Int8         bool    `json:"int8,omitempty"`
		Epochs       int     `json:"epochs"`
		BatchSize    int     `json:"batch_size"`
		LearningRate float64 `json:"learning_rate"`
		WeightDecay  float64 `json:"weight_decay"`
		NoIDF        bool    `json:"no_idf"`
		Dropout      float64 `json:"dropout"`
		Smoothing    float64 `json:"label_smoothing"`
		Balanced     bool    `json:"balanced"`
		Seed         uint64  `json:"seed"`
		Workers      int     `json:"workers"`
	}{cfg.hidden(), members(cfg), m.Layers[0].Scale != nil, cfg.Epochs, cfg.BatchSize, cfg.LearningRate, cfg.weightDecay(), cfg.NoIDF, cfg.dropout(), cfg.LabelSmoothing, cfg.Balanced, cfg.Seed, cfg.Workers})
	m.Meta = map[string]string{
		"syncd.train.settings":    string(settings),
		"syncd.train.examples":    fmt.Sprint(len(examples)),
		"syncd.train.data_sha256": hex.EncodeToString(h.Sum(nil)),
	}
}

// WriteModel writes m as ONNX to path through a temporary file and a
// rename, so a bot watching path never reads half a model.
func WriteModel(path string, m *nn.Model) error {
	b, err := m.MarshalONNX()
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".model-*.onnx")
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write model: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write model: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	return nil
}

// members is cfg.Members where there is more than one, else 0 (left out of
// the settings, so a single model's metadata reads as it did before).
func members(cfg Config) int {
	if cfg.Members > 1 {
		return cfg.Members
	}
	return 0
}
