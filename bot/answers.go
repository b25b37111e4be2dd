package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// DefaultThreshold is the confidence needed for an auto-reply when the
// answers file sets none; DefaultSuggestThreshold is the suggestion floor
// (see Decide). docs/benchmarks-bot.md has what they give on held-out and
// out-of-scope data.
const (
	DefaultThreshold        = 0.7
	DefaultSuggestThreshold = 0.4
)

// Answers is the parsed answers file (configs/bot.yaml): what the bot says
// per intent, whether it may say it alone, and the event templates. It is
// immutable once parsed.
type Answers struct {
	// Threshold is the confidence at or above which an intent with
	// AutoReply is answered without a human.
	Threshold float64
	// SuggestThreshold is the confidence below which nothing is suggested.
	SuggestThreshold float64
	Intents          map[string]Answer
	events           map[string]*template.Template
}

// Answer is the reply for one intent.
type Answer struct {
	Reply     string `yaml:"reply"`
	AutoReply bool   `yaml:"auto_reply"`
}

type answersFile struct {
	Threshold        *float64          `yaml:"threshold"`
	SuggestThreshold *float64          `yaml:"suggest_threshold"`
	Intents          map[string]Answer `yaml:"intents"`
	Events           map[string]string `yaml:"events"`
}

// ParseAnswers reads an answers file. Unknown keys, a threshold outside
// (0, 1] and templates that do not parse are errors naming the key.
func ParseAnswers(b []byte) (*Answers, error) {
	var f answersFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silently missing answer
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse answers: %w", err)
	}
	a := &Answers{Threshold: DefaultThreshold, SuggestThreshold: DefaultSuggestThreshold, Intents: f.Intents, events: map[string]*template.Template{}}
	if a.Intents == nil {
		a.Intents = map[string]Answer{}
	}
	if f.Threshold != nil {
		if *f.Threshold <= 0 || *f.Threshold > 1 {
			return nil, fmt.Errorf("parse answers: threshold %v is not in (0, 1]", *f.Threshold)
		}
		a.Threshold = *f.Threshold
	}
	if f.SuggestThreshold != nil {
		if *f.SuggestThreshold < 0 || *f.SuggestThreshold > 1 {
			return nil, fmt.Errorf("parse answers: suggest_threshold %v is not in [0, 1]", *f.SuggestThreshold)
		}
		a.SuggestThreshold = *f.SuggestThreshold
	}
	for intent, ans := range a.Intents {
		if ans.AutoReply && strings.TrimSpace(ans.Reply) == "" {
			return nil, fmt.Errorf("parse answers: intents.%s: auto_reply is on but reply is empty", intent)
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(f.Events)) {
		// missingkey=error: a payload without the field gives no reply
		// rather than "Your order <no value> is confirmed".
		t, err := template.New(kind).Option("missingkey=error").Parse(f.Events[kind])
		if err != nil {
			return nil, fmt.Errorf("parse answers: events.%s: %w", kind, err)
		}
		a.events[kind] = t
	}
	return a, nil
}

// LoadAnswers reads and parses an answers file.
func LoadAnswers(path string) (*Answers, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read answers: %w", err)
	}
	a, err := ParseAnswers(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// HasEvent reports whether there is a template for the event kind.
func (a *Answers) HasEvent(kind string) bool { return a.events[kind] != nil }

// RenderEvent fills the template for kind with the event's JSON payload
// (an object; its fields are {{.field}}). ok is false when there is no
// template for kind.
func (a *Answers) RenderEvent(kind string, payload json.RawMessage) (text string, ok bool, err error) {
	t := a.events[kind]
	if t == nil {
		return "", false, nil
	}
	data := map[string]any{}
	if len(bytes.TrimSpace(payload)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber() // order ids stay "1234567890123", not "1.234567890123e+12"
		if err := dec.Decode(&data); err != nil {
			return "", true, fmt.Errorf("render event %s: payload: %w", kind, err)
		}
	}
	var buf strings.Builder
	if err := t.Execute(&buf, data); err != nil {
		return "", true, fmt.Errorf("render event %s: %w", kind, err)
	}
	return strings.TrimSpace(buf.String()), true, nil
}
