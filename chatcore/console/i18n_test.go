package console

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var locales = []string{"en", "zh-CN"}

// catalog is one locales/*.json: its keys in file order and their texts.
type catalog struct {
	keys  []string
	texts map[string]string
}

func readCatalog(t *testing.T, loc string) catalog {
	t.Helper()
	b, err := static.ReadFile("static/locales/" + loc + ".json")
	if err != nil {
		t.Fatalf("catalog %s: %v", loc, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	c := catalog{texts: map[string]string{}}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s.json: want one object of key → text, got %v (%v)", loc, tok, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s.json: %v", loc, err)
		}
		key := tok.(string)
		var text string
		if err := dec.Decode(&text); err != nil {
			t.Fatalf("%s.json: key %q: the value must be a string: %v", loc, key, err)
		}
		if _, dup := c.texts[key]; dup {
			t.Errorf("%s.json: key %q twice", loc, key)
		}
		c.keys = append(c.keys, key)
		c.texts[key] = text
	}
	return c
}

var catalogLine = regexp.MustCompile(`^  "[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+": "(?:[^"\\]|\\.)*",?$`)

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Both catalogs have the same keys with the same placeholders, sorted (so
// that additions from different branches merge), none empty.
func TestCatalogsMatch(t *testing.T) {
	t.Parallel()
	en := readCatalog(t, "en")
	for _, loc := range locales {
		c := readCatalog(t, loc)
		raw, err := static.ReadFile("static/locales/" + loc + ".json")
		if err != nil {
			t.Fatal(err)
		}
		// One key a line, so that keys added on two branches merge line by line.
		lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		for i, l := range lines {
			if (i == 0 && l != "{") || (i == len(lines)-1 && l != "}") || (i > 0 && i < len(lines)-1 && !catalogLine.MatchString(l)) {
				t.Errorf("%s.json line %d: %q; write {, then one \"key\": \"text\" a line indented by two spaces, then }", loc, i+1, l)
			}
		}
		if !slices.IsSorted(c.keys) {
			for i := 1; i < len(c.keys); i++ {
				if c.keys[i-1] >= c.keys[i] {
					t.Errorf("%s.json is not sorted by key: %q comes after %q", loc, c.keys[i], c.keys[i-1])
				}
			}
		}
		for key, text := range c.texts {
			if strings.TrimSpace(text) == "" {
				t.Errorf("%s.json: %q is empty", loc, key)
			}
			enText, ok := en.texts[key]
			if !ok {
				t.Errorf("%s.json has %q, which en.json lacks", loc, key)
				continue
			}
			if got, want := placeholders(text), placeholders(enText); !slices.Equal(got, want) {
				t.Errorf("%s.json: %q has placeholders %v, en.json %v", loc, key, got, want)
			}
		}
		for key := range en.texts {
			if _, ok := c.texts[key]; !ok {
				t.Errorf("%s.json lacks %q", loc, key)
			}
		}
	}
}

// Every key the page and the modules use is in the catalogs, every key in
// the catalogs is used, and no module builds a key at run time (which
// would hide it from this test).
func TestKeysUsedExist(t *testing.T) {
	t.Parallel()
	en := readCatalog(t, "en")
	used := map[string][]string{} // key → where
	walk(t, func(name, body string) {
		var keys []string
		switch {
		case path.Ext(name) == ".html":
			keys = htmlKeys(body)
		case path.Ext(name) == ".js" && name != "i18n.js":
			var problems []string
			keys, problems = jsKeys(body, importedFromI18n(body))
			for _, p := range problems {
				t.Errorf("%s: %s", name, p)
			}
		}
		for _, k := range keys {
			used[k] = append(used[k], name)
		}
	})
	for key, where := range used {
		if _, ok := en.texts[key]; !ok {
			t.Errorf("%v use the key %q, which the catalogs lack", slices.Compact(where), key)
		}
	}
	for _, key := range en.keys {
		if _, ok := used[key]; !ok {
			t.Errorf("the catalogs have %q, which nothing uses", key)
		}
	}
}

var htmlKey = regexp.MustCompile(`\sdata-i18n(?:-placeholder|-aria-label|-title)?="([^"]*)"`)

func htmlKeys(body string) []string {
	var out []string
	for _, m := range htmlKey.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// keyArgs are the functions of i18n.js that take a key, and which of
// their arguments it is.
var keyArgs = map[string]int{"t": 0, "setText": 1, "setAttrText": 2}

var i18nImport = regexp.MustCompile(`import\s*\{([^}]*)\}\s*from\s*'\./i18n\.js'`)

// importedFromI18n lists the names a module imports from i18n.js (a
// module's own t, if it had one, is not the catalogs').
func importedFromI18n(src string) map[string]bool {
	names := map[string]bool{}
	for _, m := range i18nImport.FindAllStringSubmatch(src, -1) {
		for _, n := range strings.Split(m[1], ",") {
			if n = strings.TrimSpace(n); n != "" {
				names[n] = true
			}
		}
	}
	return names
}

// jsKeys lists the keys a module passes to t, setText and setAttrText
// (those of them it imports): a literal, or a choice of two
// (cond ? 'a.b' : 'a.c'). Anything else is a problem.
func jsKeys(src string, imported map[string]bool) (keys, problems []string) {
	toks := lexJS(src)
	for k, tk := range toks {
		argN, ok := keyArgs[tk.text]
		if tk.kind != tokIdent || !ok || !imported[tk.text] || k+1 >= len(toks) || toks[k+1].text != "(" || (k > 0 && toks[k-1].text == ".") {
			continue
		}
		if k > 0 && toks[k-1].text == "function" {
			continue
		}
		var arg []token
		callArgs(toks, k+1, argN, func(a int) {
			if arg != nil {
				return
			}
			for e := a; e < len(toks) && toks[e].text != "," && toks[e].text != ")"; e++ {
				arg = append(arg, toks[e])
			}
		})
		if q := slices.IndexFunc(arg, func(x token) bool { return x.kind == tokPunct && x.text == "?" }); q >= 0 {
			arg = arg[q+1:]
		}
		switch {
		case len(arg) == 1 && arg[0].kind == tokString:
			keys = append(keys, arg[0].text)
		case len(arg) == 3 && arg[0].kind == tokString && arg[1].text == ":" && arg[2].kind == tokString:
			keys = append(keys, arg[0].text, arg[2].text)
		default:
			problems = append(problems, fmt.Sprintf("line %d: %s() is given a key built at run time; write the key as a literal", tk.line, tk.text))
		}
	}
	return keys, problems
}

// No module sets a text of its own: every text comes from the catalogs.
func TestModulesHaveNoTexts(t *testing.T) {
	t.Parallel()
	walk(t, func(name, body string) {
		if path.Ext(name) != ".js" || name == "i18n.js" {
			return
		}
		for _, f := range literalTexts(body) {
			t.Errorf("%s: %s: take the text from the catalogs with t()", name, f)
		}
	})
}

// The scan of TestModulesHaveNoTexts finds the regressions it is there
// for, and leaves code that only names classes, keys and states alone.
func TestLiteralTextScan(t *testing.T) {
	t.Parallel()
	bad := map[string]string{
		"h attribute":       `h('p', { class: 'muted', text: 'No retrain yet.' })`,
		"h template":        "h('span', { text: `Waiting ${duration(ms)}` })",
		"h ternary":         `h('span', { text: c.state === 'resolved' ? 'Resolved' : t('conv.open') })`,
		"h child":           `h('button', { type: 'button' }, 'Retry')`,
		"h child ternary":   `h('button', {}, customer ? t('label.correct') : 'Label')`,
		"aria-label":        `h('span', { 'aria-label': ` + "`${n} unread`" + ` })`,
		"textContent":       `status.textContent = 'Saving…';`,
		"textContent tmpl":  "el.textContent = `Could not load: ${e.message}`;",
		"placeholder":       `$('reply').placeholder = ok ? t('composer.placeholder') : 'Write a reply';`,
		"title":             `$('conn').title = 'Connected';`,
		"setAttribute":      `el.setAttribute('aria-label', 'Close');`,
		"append":            `li.append('Hand over to', name);`,
		"error":             `throw new ApiError(0, 'The server cannot be reached.');`,
		"confirm":           `if (!confirm(` + "`Reply to a conversation ${who} holds?`" + `)) return;`,
		"prose elsewhere":   `const label = { on: 'Sound on', off: 'Sound off' };`,
		"texts table":       `const TEXT = { searching: 'Searching…', placeholder: 'Search: key, customer, message  (/)' };`,
		"texts function":    "const TEXT = { failed: (msg) => `Search failed: ${msg}` };",
		"Chinese elsewhere": `const s = '已分配给你';`,
		"one-word map":      `x.textContent = { mine: 'Mine' }[tab];`,
	}
	for name, src := range bad {
		if got := literalTexts(src); len(got) == 0 {
			t.Errorf("%s: %s passes the scan", name, src)
		}
	}
	good := map[string]string{
		"keys":        `h('span', { class: 'state', text: c.state === 'resolved' ? t('conv.resolved') : t('conv.open') })`,
		"classes":     "h('li', { class: `msg ${m.sender_type}${own ? ' own' : ''}`, dataset: { seq: m.seq } })",
		"data":        `h('span', { class: 'conv-key', text: c.conversation_key }, m.body || '')`,
		"compare":     `if (m.sender_type === 'customer' && m.kind !== 'message') el.textContent = t('sender.customer');`,
		"selectors":   `document.querySelectorAll('.conv-header .actions button');`,
		"key names":   `if (ev.key === 'Enter' && !ev.shiftKey) send();`,
		"regexp":      `s.replace(/'[A-Z] "x"/g, ' ')`,
		"headers":     `init.headers['Content-Type'] = 'application/json';`,
		"key names 2": `const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key]; if (ev.key === 'Escape' || ev.key === 'ArrowDown') x();`,
		"error names": `this.name = 'ApiError'; if (e.name === 'AbortError') return;`,
		"brand":       `document.title = 'syncd';`,
		"comment":     "// Could not load the list: say so.\nx = 1;",
		"join":        `$('conv-status').textContent = parts.join(' · ');`,
		"number":      `h('span', { text: unread > 99 ? formatNumber(99) + '+' : formatNumber(unread) })`,
		"setText key": `setText($('conn'), state.down ? 'conn.reconnecting' : 'conn.connecting');`,
	}
	for name, src := range good {
		if got := literalTexts(src); len(got) != 0 {
			t.Errorf("%s: %s is reported: %v", name, src, got)
		}
	}
}

// Every text in index.html names its key, so that it shows in the
// agent's language: the text of an element (data-i18n) and its
// placeholder, aria-label, title and alt (data-i18n-…). The product's
// name and the languages' own names in the switch are the same in every
// language.
func TestPageTextsHaveKeys(t *testing.T) {
	t.Parallel()
	body, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pageTextsWithoutKey(string(body)) {
		t.Errorf("index.html: %s", f)
	}
	bad := `<p>Hello</p><button data-i18n="a.b">Go</button><input placeholder="Type here"><span aria-label="Close" data-i18n="x"></span>`
	if got := pageTextsWithoutKey(bad); len(got) != 3 {
		t.Errorf("the check finds %d texts without a key in %s, want 3: %q", len(got), bad, got)
	}
}

var (
	htmlTag  = regexp.MustCompile(`<(/?)([a-zA-Z0-9]+)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*/?>`)
	htmlAttr = regexp.MustCompile(`([^\s=]+)(?:="([^"]*)")?`)
	voidTags = map[string]bool{"meta": true, "link": true, "input": true, "br": true, "img": true, "hr": true}
	sameText = map[string]bool{"syncd": true}
)

func pageTextsWithoutKey(doc string) []string {
	type elem struct {
		tag   string
		attrs map[string]string
	}
	var stack []elem
	var out []string
	checkText := func(text string) {
		text = strings.TrimSpace(text)
		if text == "" || !hasLetter(text) || sameText[text] || strings.HasPrefix(text, "<!") {
			return
		}
		if len(stack) == 0 {
			out = append(out, fmt.Sprintf("%q outside any element", text))
			return
		}
		top := stack[len(stack)-1]
		if _, ok := top.attrs["data-i18n"]; ok {
			return
		}
		switch top.tag {
		case "title", "script", "style":
			return
		case "option":
			if top.attrs["lang"] != "" {
				return // a language's own name
			}
		}
		out = append(out, fmt.Sprintf("<%s> shows %q without data-i18n", top.tag, text))
	}
	rest := doc
	for {
		loc := htmlTag.FindStringSubmatchIndex(rest)
		if loc == nil {
			checkText(rest)
			return out
		}
		checkText(rest[:loc[0]])
		closing := rest[loc[2]:loc[3]] == "/"
		tag := strings.ToLower(rest[loc[4]:loc[5]])
		attrText := rest[loc[6]:loc[7]]
		rest = rest[loc[1]:]
		if closing {
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].tag == tag {
					stack = stack[:i]
					break
				}
			}
			continue
		}
		attrs := map[string]string{}
		for _, m := range htmlAttr.FindAllStringSubmatch(attrText, -1) {
			attrs[strings.ToLower(m[1])] = m[2]
		}
		for _, a := range []string{"placeholder", "aria-label", "title", "alt"} {
			if v, ok := attrs[a]; ok && hasLetter(v) && !sameText[v] {
				if _, keyed := attrs["data-i18n-"+a]; !keyed {
					out = append(out, fmt.Sprintf("<%s %s=%q> without data-i18n-%s", tag, a, v, a))
				}
			}
		}
		if !voidTags[tag] {
			stack = append(stack, elem{tag, attrs})
		}
	}
}
