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
	"unicode"

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
	// Languages are the languages the answers are written in, in the
	// order Language tries them; DefaultLanguage is the one of a message
	// in none of their scripts.
	Languages       []Language
	DefaultLanguage string
	events          map[string]map[string]*template.Template // kind → language → template
}

// Answer is the reply for one intent.
type Answer struct {
	// Reply is the text per language.
	Reply     Text `yaml:"reply"`
	AutoReply bool `yaml:"auto_reply"`
	// Resolves: the auto-reply settles what the customer wrote (a greeting,
	// thanks), so it takes the conversation off the agents' queue. Any other
	// auto-reply answers the customer and leaves the conversation waiting
	// for an agent, shown as answered by the bot.
	Resolves bool `yaml:"resolves"`
	// Handoff: the customer asks for a person. The conversation always stays
	// waiting, flagged as asking for a person until an agent replies,
	// whatever Resolves says and whatever the bot answers.
	Handoff bool `yaml:"handoff"`
}

// Text is a reply in one or more languages: language code → text. The old
// single-string form (`reply: "Hello / 您好"`) is kept under the key "" and
// serves every language.
type Text map[string]string

// UnmarshalYAML reads a string (any language) or a map of language → text.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = Text{"": n.Value}
		return nil
	}
	var m map[string]string
	if err := n.Decode(&m); err != nil {
		return err
	}
	*t = m
	return nil
}

// pick returns the text for lang: lang's own, else the any-language text,
// else the default language's.
func pick[V comparable](m map[string]V, lang, def string) V {
	var zero V
	for _, l := range []string{lang, "", def} {
		if v, ok := m[l]; ok && v != zero {
			return v
		}
	}
	return zero
}

// In returns the text in lang, or in def when there is none in lang.
func (t Text) In(lang, def string) string { return pick(t, lang, def) }

// Language is one language the answers are written in and the Unicode
// scripts (names as in unicode.Scripts: Latin, Han, Hiragana, Cyrillic…)
// that say a message is in it.
type Language struct {
	Code    string   `yaml:"code"`
	Scripts []string `yaml:"scripts"`
	tables  []*unicode.RangeTable
}

// builtinLanguages are the languages of a file that names none: the two of
// the shipped answers. Han comes first, so "我的iPhone坏了" is Chinese.
var builtinLanguages = []Language{
	{Code: "zh", Scripts: []string{"Han"}, tables: []*unicode.RangeTable{unicode.Han}},
	{Code: "en", Scripts: []string{"Latin"}, tables: []*unicode.RangeTable{unicode.Latin}},
}

type answersFile struct {
	Threshold        *float64          `yaml:"threshold"`
	SuggestThreshold *float64          `yaml:"suggest_threshold"`
	Languages        []Language        `yaml:"languages"`
	DefaultLanguage  string            `yaml:"default_language"`
	Intents          map[string]Answer `yaml:"intents"`
	Events           map[string]Text   `yaml:"events"`
}

// Language returns the language of a customer's message: the first of
// Languages with a letter of one of its scripts in text, else
// DefaultLanguage (a message of digits or emoji).
func (a *Answers) Language(text string) string {
	for _, l := range a.Languages {
		for _, r := range text {
			if unicode.IsLetter(r) && unicode.IsOneOf(l.tables, r) {
				return l.Code
			}
		}
	}
	return a.DefaultLanguage
}

// parseLanguages checks the languages and the default language of f.
func parseLanguages(f *answersFile) ([]Language, string, error) {
	langs := f.Languages
	if len(langs) == 0 {
		langs = builtinLanguages
	}
	seen := map[string]bool{}
	out := make([]Language, len(langs))
	for i, l := range langs {
		if l.Code == "" {
			return nil, "", fmt.Errorf("languages[%d].code is empty", i)
		}
		if seen[l.Code] {
			return nil, "", fmt.Errorf("languages[%d].code %q is listed twice", i, l.Code)
		}
		seen[l.Code] = true
		if len(l.Scripts) == 0 {
			return nil, "", fmt.Errorf("languages[%d].scripts is empty", i)
		}
		l.tables = nil
		for _, sc := range l.Scripts {
			t := unicode.Scripts[sc]
			if t == nil {
				return nil, "", fmt.Errorf("languages[%d].scripts: %q is not a Unicode script name (Latin, Han, Cyrillic, …)", i, sc)
			}
			l.tables = append(l.tables, t)
		}
		out[i] = l
	}
	def := f.DefaultLanguage
	switch {
	case def == "" && seen["en"]:
		def = "en"
	case def == "":
		def = out[0].Code
	case !seen[def]:
		return nil, "", fmt.Errorf("default_language %q is not one of languages", def)
	}
	return out, def, nil
}

// checkText says what is wrong with a Text: a language not listed.
func checkText(t Text, langs map[string]bool) error {
	for _, l := range slices.Sorted(maps.Keys(t)) {
		if l != "" && !langs[l] {
			return fmt.Errorf("language %q is not one of languages", l)
		}
	}
	return nil
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
	a := &Answers{Threshold: DefaultThreshold, SuggestThreshold: DefaultSuggestThreshold, Intents: f.Intents, events: map[string]map[string]*template.Template{}}
	var err error
	if a.Languages, a.DefaultLanguage, err = parseLanguages(&f); err != nil {
		return nil, fmt.Errorf("parse answers: %w", err)
	}
	langs := map[string]bool{}
	for _, l := range a.Languages {
		langs[l.Code] = true
	}
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
	for _, intent := range slices.Sorted(maps.Keys(a.Intents)) {
		ans := a.Intents[intent]
		if err := checkText(ans.Reply, langs); err != nil {
			return nil, fmt.Errorf("parse answers: intents.%s.reply: %w", intent, err)
		}
		if ans.AutoReply && strings.TrimSpace(ans.Reply.In(a.DefaultLanguage, a.DefaultLanguage)) == "" {
			return nil, fmt.Errorf("parse answers: intents.%s: auto_reply is on but reply has no text in the default language (%s)", intent, a.DefaultLanguage)
		}
	}
	for _, kind := range slices.Sorted(maps.Keys(f.Events)) {
		if err := checkText(f.Events[kind], langs); err != nil {
			return nil, fmt.Errorf("parse answers: events.%s: %w", kind, err)
		}
		a.events[kind] = map[string]*template.Template{}
		for _, lang := range slices.Sorted(maps.Keys(f.Events[kind])) {
			t, err := parseEvent(kind, f.Events[kind][lang])
			if err != nil {
				key := kind
				if lang != "" {
					key += "." + lang
				}
				return nil, fmt.Errorf("parse answers: events.%s: %w", key, err)
			}
			a.events[kind][lang] = t
		}
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
func (a *Answers) HasEvent(kind string) bool { return len(a.events[kind]) > 0 }

// RenderEvent is RenderEventIn in the default language.
func (a *Answers) RenderEvent(kind string, payload json.RawMessage) (text string, ok bool, err error) {
	return a.RenderEventIn(kind, a.DefaultLanguage, payload)
}

// RenderEventIn fills the template for kind in lang (else the default
// language's) with the event's JSON payload (an object; its fields are
// {{.field}}). ok is false when there is no template for kind. err says, in a line an agent can read, why a template
// gave no reply: a field it uses is missing, null, an object or a list, the
// payload is not an object, or the reply is empty or too long.
func (a *Answers) RenderEventIn(kind, lang string, payload json.RawMessage) (text string, ok bool, err error) {
	t := pick(a.events[kind], lang, a.DefaultLanguage)
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
