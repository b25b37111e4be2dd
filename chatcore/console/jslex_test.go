package console

import (
	"strings"
	"unicode"
)

// A small JavaScript lexer, enough for the console's own modules: it
// tells string and template literals from code, comments and regular
// expressions, so that the i18n tests can see which texts a module writes.

type tokKind int

const (
	tokPunct  tokKind = iota // one character of code: ( ) , ? : = …
	tokIdent                 // a name, keyword or number
	tokString                // '…', "…" or `…` (a template's ${…} parts left out)
)

type token struct {
	kind tokKind
	text string // the code, or the literal's value
	line int
}

// lexJS splits src into tokens. It is not a full lexer (no nested
// templates inside ${…}), which the console's modules do not need.
func lexJS(src string) []token {
	var out []token
	line := 1
	rs := []rune(src)
	n := len(rs)
	lastSignificant := func() (token, bool) {
		if len(out) == 0 {
			return token{}, false
		}
		return out[len(out)-1], true
	}
	// A / starts a regular expression where a value is expected.
	regexAllowed := func() bool {
		last, ok := lastSignificant()
		if !ok {
			return true
		}
		switch last.kind {
		case tokString:
			return false
		case tokIdent:
			switch last.text {
			case "return", "typeof", "case", "in", "of", "new", "delete", "void", "throw", "else", "do":
				return true
			}
			return false
		}
		return !strings.Contains(")]", last.text)
	}
	for i := 0; i < n; {
		c := rs[i]
		switch {
		case c == '\n':
			line++
			i++
		case unicode.IsSpace(c):
			i++
		case c == '/' && i+1 < n && rs[i+1] == '/':
			for i < n && rs[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && rs[i+1] == '*':
			i += 2
			for i+1 < n && !(rs[i] == '*' && rs[i+1] == '/') {
				if rs[i] == '\n' {
					line++
				}
				i++
			}
			i += 2
		case c == '/' && regexAllowed():
			i++
			inClass := false
			for i < n && (inClass || rs[i] != '/') && rs[i] != '\n' {
				switch rs[i] {
				case '\\':
					i++
				case '[':
					inClass = true
				case ']':
					inClass = false
				}
				i++
			}
			i++
			for i < n && unicode.IsLetter(rs[i]) {
				i++
			}
			out = append(out, token{kind: tokIdent, text: "/regexp/", line: line})
		case c == '\'' || c == '"':
			start := line
			var b strings.Builder
			i++
			for i < n && rs[i] != c && rs[i] != '\n' {
				if rs[i] == '\\' && i+1 < n {
					i++
				}
				b.WriteRune(rs[i])
				i++
			}
			i++
			out = append(out, token{kind: tokString, text: b.String(), line: start})
		case c == '`':
			start := line
			var b strings.Builder
			i++
			for i < n && rs[i] != '`' {
				switch {
				case rs[i] == '\\' && i+1 < n:
					i++
					b.WriteRune(rs[i])
					i++
				case rs[i] == '$' && i+1 < n && rs[i+1] == '{':
					depth := 0
					for i < n {
						if rs[i] == '{' {
							depth++
						} else if rs[i] == '}' {
							depth--
							if depth == 0 {
								break
							}
						}
						i++
					}
					i++
					b.WriteRune(' ') // an expression: no text of the module's own
				default:
					if rs[i] == '\n' {
						line++
					}
					b.WriteRune(rs[i])
					i++
				}
			}
			i++
			out = append(out, token{kind: tokString, text: b.String(), line: start})
		case c == '_' || c == '$' || unicode.IsLetter(c) || unicode.IsDigit(c):
			j := i
			for j < n && (rs[j] == '_' || rs[j] == '$' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			out = append(out, token{kind: tokIdent, text: string(rs[i:j]), line: line})
			i = j
		default:
			out = append(out, token{kind: tokPunct, text: string(c), line: line})
			i++
		}
	}
	return out
}
