package featurize

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// greetings are the openers customers put before a request, in Normalize's
// form (lower case, NFKC), longest first so "hi there" wins over "hi". A
// greeting in front of a request must not decide its intent, yet in a bag
// of n-grams "good morning" weighs as much as "refund": with StripGreetings
// the featuriser drops them when a request follows.
var greetings = []string{
	"good afternoon", "good morning", "good evening", "hello there", "hey there", "hi there",
	"hello team", "hi team", "hello support", "hi support", "greetings", "morning",
	"hello", "howdy", "hiya", "hey", "hi", "yo",
	"麻烦问一下", "麻烦问下", "打扰一下", "打扰了", "亲爱的", "客服你好", "你好呀", "您好呀", "在不在",
	"早上好", "下午好", "晚上好", "早安", "你好", "您好", "哈喽", "亲亲", "在吗", "在么", "嗨", "亲",
}

// StripGreetings returns text without the greetings it starts with, when
// something other than greetings and punctuation follows; otherwise (a
// greeting alone, or no greeting) text itself. text is in Normalize's form.
func StripGreetings(text string) string {
	rest := text
	for {
		g := leadingGreeting(rest)
		if g == 0 {
			break
		}
		rest = strings.TrimLeftFunc(rest[g:], isSeparator)
	}
	if rest == text || !strings.ContainsFunc(rest, isWordRune) {
		return text
	}
	return rest
}

// leadingGreeting returns the length of the greeting text starts with, or
// 0. A Latin greeting must end at a word boundary ("hi" is no greeting in
// "him"); a Chinese one needs none.
func leadingGreeting(text string) int {
	for _, g := range greetings {
		if !strings.HasPrefix(text, g) {
			continue
		}
		next, _ := utf8.DecodeRuneInString(text[len(g):])
		last, _ := utf8.DecodeLastRuneInString(g)
		if last < utf8.RuneSelf && next != utf8.RuneError && next < utf8.RuneSelf && isWordRune(next) {
			continue
		}
		return len(g)
	}
	return 0
}

func isSeparator(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || r == '~' }

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
