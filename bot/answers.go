package bot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

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
		t, err := parseEvent(kind, f.Events[kind])
		if err != nil {
			return nil, fmt.Errorf("parse answers: events.%s: %w", kind, err)
		}
		a.events[kind] = t
	}
	return a, nil
}

// parseEvent parses an event template so that it answers only with real
// values: a field the payload lacks is an error (missingkey=error), and
// every value the template prints goes through printValue, which refuses
// null, objects and lists, so that no customer reads "Your order <no
// value> is confirmed" or "map[a:[1 2]]".
func parseEvent(kind, text string) (*template.Template, error) {
	t, err := template.New(kind).Option("missingkey=error").Funcs(template.FuncMap{printFunc: printValue}).Parse(text)
	if err != nil {
		return nil, err
	}
	for _, tt := range t.Templates() {
		checkPrints(tt.Tree, tt.Root)
	}
	return t, nil
}

const printFunc = "syncdPrintValue"

// checkPrints appends printValue, with the action's own text, to every
// action that prints: {{.order_id}} runs as {{.order_id | syncdPrintValue ".order_id"}}.
func checkPrints(tree *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			checkPrints(tree, c)
		}
	case *parse.ActionNode:
		if len(n.Pipe.Decl) > 0 {
			return // {{$x := …}} prints nothing
		}
		what := n.Pipe.String()
		n.Pipe.Cmds = append(n.Pipe.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{
			parse.NewIdentifier(printFunc).SetTree(tree).SetPos(n.Pos),
			&parse.StringNode{NodeType: parse.NodeString, Pos: n.Pos, Quoted: strconv.Quote(what), Text: what},
		}})
	case *parse.IfNode:
		checkPrints(tree, n.List)
		checkPrints(tree, n.ElseList)
	case *parse.RangeNode:
		checkPrints(tree, n.List)
		checkPrints(tree, n.ElseList)
	case *parse.WithNode:
		checkPrints(tree, n.List)
		checkPrints(tree, n.ElseList)
	}
}

// valueError is why a printed value is not one a reply may show.
type valueError struct{ field, what string }

func (e *valueError) Error() string {
	return fmt.Sprintf("payload field %s is %s, not a value to show", strings.TrimPrefix(e.field, "."), e.what)
}

// printValue lets strings, numbers and booleans through.
func printValue(field string, v any) (any, error) {
	switch v.(type) {
	case nil:
		return nil, &valueError{field, "null"}
	case map[string]any:
		return nil, &valueError{field, "an object"}
	case []any:
		return nil, &valueError{field, "a list"}
	}
	return v, nil
}

// maxEventReply bounds what an event template may write, so that a long
// payload field repeated by a template cannot make a reply of any size;
// the relay's own limit (relay.max_body_bytes) is usually lower.
const maxEventReply = 1 << 20

var errReplyTooLong = fmt.Errorf("the reply would be longer than %d bytes", maxEventReply)

// cappedWriter fails a write past its limit.
type cappedWriter struct {
	strings.Builder
	limit int
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.Len()+len(p) > w.limit {
		return 0, errReplyTooLong
	}
	return w.Builder.Write(p)
}

var missingKey = regexp.MustCompile(`map has no entry for key "((?:[^"\\]|\\.)*)"`)

// eventError says in a line why the template of kind did not answer.
func eventError(kind string, err error) error {
	var ve *valueError
	switch {
	case errors.As(err, &ve):
		return fmt.Errorf("event template %s: %w", kind, ve)
	case errors.Is(err, errReplyTooLong):
		return fmt.Errorf("event template %s: %w", kind, errReplyTooLong)
	}
	if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("event template %s: the payload has no field %s", kind, m[1])
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ">: "); i >= 0 {
		msg = msg[i+3:] // drop text/template's position prefix
	}
	return fmt.Errorf("event template %s: %s", kind, msg)
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
// template for kind. err says, in a line an agent can read, why a template
// gave no reply: a field it uses is missing, null, an object or a list, the
// payload is not an object, or the reply is empty or too long.
func (a *Answers) RenderEvent(kind string, payload json.RawMessage) (text string, ok bool, err error) {
	t := a.events[kind]
	if t == nil {
		return "", false, nil
	}
	var data any = map[string]any{}
	if len(bytes.TrimSpace(payload)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.UseNumber() // order ids stay "1234567890123", not "1.234567890123e+12"
		if err := dec.Decode(&data); err != nil {
			return "", true, fmt.Errorf("event template %s: payload: %w", kind, err)
		}
		if _, isObject := data.(map[string]any); !isObject {
			return "", true, fmt.Errorf("event template %s: the payload is %s, not a JSON object", kind, jsonKind(data))
		}
	}
	buf := cappedWriter{limit: maxEventReply}
	if err := t.Execute(&buf, data); err != nil {
		return "", true, eventError(kind, err)
	}
	text = strings.TrimSpace(buf.String())
	if text == "" {
		return "", true, fmt.Errorf("event template %s: the reply is empty", kind)
	}
	return text, true, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
