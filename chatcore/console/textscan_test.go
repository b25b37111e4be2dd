package console

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// literalTexts lists the texts a module writes itself instead of taking
// them from the catalogs through t(): a string literal with a letter in it
// that ends up as a page's text or accessible name. A text position is
// the value of text: / 'aria-label': / title: / placeholder: (h()'s
// attributes), an assignment to textContent, innerText, placeholder, title
// or ariaLabel, setAttribute('aria-label'|'title'|'placeholder'|'alt', …),
// a child of h() or of append/replaceChildren/createTextNode/…, the
// message of an ApiError and what alert/confirm/prompt show. Within such a
// value, a literal compared with === / !== (c.state === 'resolved') and a
// key given to t() are not texts. Anywhere else, a literal that reads as
// English prose ("Sound on", "Could not load …") or holds any non-ASCII
// letter (a text in Chinese) counts too.
func literalTexts(src string) []string {
	toks := lexJS(src)
	var found []string
	seen := map[int]bool{}
	report := func(k int, why string) {
		if seen[k] {
			return
		}
		seen[k] = true
		found = append(found, fmt.Sprintf("line %d: %q (%s)", toks[k].line, toks[k].text, why))
	}
	isPunct := func(k int, s string) bool {
		return k >= 0 && k < len(toks) && toks[k].kind == tokPunct && toks[k].text == s
	}
	isIdent := func(k int, s ...string) bool {
		if k < 0 || k >= len(toks) || toks[k].kind != tokIdent {
			return false
		}
		for _, x := range s {
			if toks[k].text == x {
				return true
			}
		}
		return false
	}
	isString := func(k int, s ...string) bool {
		if k < 0 || k >= len(toks) || toks[k].kind != tokString {
			return false
		}
		for _, x := range s {
			if toks[k].text == x {
				return true
			}
		}
		return false
	}
	// assign is a lone =, not ==, ===, =>, <=, !=.
	assign := func(k int) bool {
		return isPunct(k, "=") && !isPunct(k+1, "=") && !isPunct(k+1, ">") &&
			!isPunct(k-1, "=") && !isPunct(k-1, "!") && !isPunct(k-1, "<") && !isPunct(k-1, ">")
	}
	// expr scans one expression from k to the comma, semicolon or closing
	// bracket that ends it, and reports the texts in it; it returns the
	// index of the token that ended it.
	expr := func(k int, why string) int {
		depth := 0
		for ; k < len(toks); k++ {
			tk := toks[k]
			if tk.kind == tokIdent && isPunct(k+1, "(") {
				// A call's arguments are not the text (t()'s key, a
				// nested h(), which the loop below scans on its own).
				k = closing(toks, k+1)
				continue
			}
			if tk.kind == tokPunct {
				switch tk.text {
				case "(", "[", "{":
					depth++
				case ")", "]", "}":
					if depth == 0 {
						return k
					}
					depth--
				case ",", ";":
					if depth == 0 {
						return k
					}
				}
				continue
			}
			if tk.kind != tokString || !hasLetter(tk.text) || tk.text == "syncd" {
				continue
			}
			if isPunct(k-1, "=") && (isPunct(k-2, "=") || isPunct(k-2, "!")) || isPunct(k+1, "=") && isPunct(k+2, "=") || isPunct(k+1, "!") {
				continue // compared, not shown
			}
			report(k, why)
		}
		return k
	}
	for k := range toks {
		tk := toks[k]
		switch {
		case tk.kind == tokIdent && (tk.text == "text" || tk.text == "title" || tk.text == "placeholder") && isPunct(k+1, ":") && !isPunct(k-1, "?"),
			isString(k, "aria-label", "title", "placeholder", "alt") && isPunct(k+1, ":"):
			expr(k+2, "text of an element")
		case isIdent(k, "textContent", "innerText", "placeholder", "title", "ariaLabel") && assign(k+1):
			expr(k+2, "text of an element")
		case isIdent(k, "setAttribute") && isPunct(k+1, "(") && isString(k+2, "aria-label", "title", "placeholder", "alt") && isPunct(k+3, ","):
			expr(k+4, "text of an attribute")
		case isIdent(k, "h") && isPunct(k+1, "(") && !isPunct(k-1, "."):
			callArgs(toks, k+1, 2, func(a int) { expr(a, "child of h()") })
		case isIdent(k, "createTextNode", "append", "prepend", "replaceChildren", "replaceWith", "before", "after") && isPunct(k+1, "("):
			callArgs(toks, k+1, 0, func(a int) { expr(a, "text node") })
		case isIdent(k, "ApiError") && isPunct(k+1, "("):
			callArgs(toks, k+1, 1, func(a int) { expr(a, "error message") })
		case isIdent(k, "alert", "confirm", "prompt") && isPunct(k+1, "("):
			callArgs(toks, k+1, 0, func(a int) { expr(a, "dialog") })
		case tk.kind == tokString && hasOtherLetter(tk.text):
			report(k, "a text in a module")
		case tk.kind == tokString && prose.MatchString(tk.text):
			report(k, "reads as English")
		}
	}
	return found
}

// prose is a literal that starts with a capitalised word and has a space
// or ends as a sentence does: "Sound on", "Could not load messages: ",
// "Searching…", "Saved.".
var prose = regexp.MustCompile(`^\s*[A-Z][a-z']+(?:.*\s.*|.*[.…!?])$`)

// callArgs calls fn with the first token of each argument, from the
// argument numbered from on, of the call whose ( is at open.
func callArgs(toks []token, open, from int, fn func(int)) {
	depth, n := 0, 0
	start := open + 1
	for k := open + 1; k < len(toks); k++ {
		tk := toks[k]
		if tk.kind != tokPunct {
			continue
		}
		switch tk.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth == 0 {
				if n >= from && k > start {
					fn(start)
				}
				return
			}
			depth--
		case ",":
			if depth == 0 {
				if n >= from {
					fn(start)
				}
				n++
				start = k + 1
			}
		}
	}
}

// closing is the index of the bracket that closes the one at open.
func closing(toks []token, open int) int {
	depth := 0
	for k := open; k < len(toks); k++ {
		if toks[k].kind != tokPunct {
			continue
		}
		switch toks[k].text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return len(toks)
}

func hasLetter(s string) bool {
	return strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// hasOtherLetter reports a letter outside ASCII: Chinese, or an accented
// Latin one.
func hasOtherLetter(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r > unicode.MaxASCII && unicode.IsLetter(r) }) >= 0
}
