// Package searchtext turns chat text into the terms the console's search
// indexes (chat_messages.search_text), and a query into the terms to look
// for. The database's own full-text index does the searching (MariaDB
// FULLTEXT, PostgreSQL tsvector, SQLite FTS5); this package only makes the
// text one that every one of them splits the same way, Chinese included:
// none of the three splits Chinese into words (MariaDB has no ngram parser;
// PostgreSQL's and SQLite's parsers take a run of Han characters as one
// word), so a query 退款 would not find 我要退款.
//
// A term is a lower-cased run of letters and digits, or, in Chinese,
// Japanese and Korean script, every two adjacent characters of a run and
// its last character alone. Every term ends in "_", padded to at least
// three characters: MariaDB's InnoDB FULLTEXT leaves out words shorter than
// innodb_ft_min_token_size (3) and the words of its stopword list ("the",
// "for", "with"), and "ok_", "退款_", "the_" are neither. PostgreSQL and
// SQLite take "_" as a separator, so they index "ok", "退款", "the".
package searchtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTermChars keeps a term under InnoDB's innodb_ft_max_token_size (84).
const maxTermChars = 80

// cjk reports a character of a script written without spaces between words.
func cjk(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// piece is a word of the text: a run of letters and digits (cjk false), or
// a run of CJK characters.
type piece struct {
	text string
	cjk  bool
}

func pieces(s string) []piece {
	var out []piece
	start, kind := -1, false
	flush := func(end int) {
		if start >= 0 {
			out = append(out, piece{text: s[start:end], cjk: kind})
		}
		start = -1
	}
	for i, r := range s {
		isCJK := cjk(r)
		word := isCJK || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		if !word || (start >= 0 && isCJK != kind) {
			flush(i)
		}
		if word && start < 0 {
			start, kind = i, isCJK
		}
	}
	flush(len(s))
	return out
}

// term writes a term as it is stored: lower case, cut to maxTermChars, "_"
// at the end and up to three characters.
func term(s string) string {
	s = strings.ToLower(s)
	if utf8.RuneCountInString(s) > maxTermChars {
		s = string([]rune(s)[:maxTermChars])
	}
	s += "_"
	for utf8.RuneCountInString(s) < 3 {
		s += "_"
	}
	return s
}

// bigrams are the two-character pieces of a CJK run and its last character.
func bigrams(run string) []string {
	rs := []rune(run)
	out := make([]string, 0, len(rs))
	for i := 0; i+1 < len(rs); i++ {
		out = append(out, string(rs[i:i+2]))
	}
	return append(out, string(rs[len(rs)-1:]))
}

// MaxBytes bounds a message's search text: the terms of a very long
// message's beginning are indexed, as much as a search needs to find it.
const MaxBytes = 64 << 10

// Text is the search_text of a message: the terms of parts (the
// conversation's key on its first message, the customer's name on a
// customer's message, the body), each once, each after a space (so that a
// term starts where " " + term is found, which a scan of recent messages
// uses: Like).
func Text(parts ...string) string {
	seen := map[string]bool{}
	var b strings.Builder
	add := func(t string) {
		if t = term(t); !seen[t] && b.Len()+len(t)+1 <= MaxBytes {
			seen[t] = true
			b.WriteByte(' ')
			b.WriteString(t)
		}
	}
	for _, part := range parts {
		for _, p := range pieces(part) {
			if !p.cjk {
				add(p.text)
				continue
			}
			for _, g := range bigrams(p.text) {
				add(g)
			}
		}
	}
	return b.String()
}

// Term is one term of a query: Prefix when it may be the start of a longer
// term (the last word typed, or one CJK character).
type Term struct {
	Text   string // as stored ("refund_"); without the "_" padding when Prefix ("refu")
	Prefix bool
}

// MaxTerms bounds the terms of one query.
const MaxTerms = 16

// Query is the terms a message must all have to match q. The last word
// is a prefix, so that a search finds "refund" while the agent is still
// typing "refu". A CJK run of two or more characters needs all its pairs
// (which finds the run anywhere, and also the rare text that has the same
// pairs apart); one CJK character is the start of a pair or a run's last
// character. Nil when q has no letters or digits.
func Query(q string) []Term {
	ps := pieces(q)
	var out []Term
	seen := map[Term]bool{}
	add := func(t Term) {
		if !seen[t] && len(out) < MaxTerms {
			seen[t] = true
			out = append(out, t)
		}
	}
	for i, p := range ps {
		last := i == len(ps)-1
		switch {
		case p.cjk && utf8.RuneCountInString(p.text) == 1:
			add(Term{Text: strings.ToLower(p.text), Prefix: true})
		case p.cjk:
			gs := bigrams(p.text)
			for _, g := range gs[:len(gs)-1] { // the pairs; the last character is in the last pair
				add(Term{Text: term(g)})
			}
		case last:
			s := strings.ToLower(p.text)
			if utf8.RuneCountInString(s) > maxTermChars {
				s = string([]rune(s)[:maxTermChars])
			}
			add(Term{Text: s, Prefix: true})
		default:
			add(Term{Text: term(p.text)})
		}
	}
	return out
}

// Like is a LIKE pattern, with ! as its escape character, that a
// search_text matches when it has the term: a whole term ends in "_" and
// the next term starts after a space, so "% refund!_%" finds the term
// "refund_" and "% refu%" every term that starts with "refu".
func (t Term) Like() string {
	return "% " + strings.ReplaceAll(t.Text, "_", "!_") + "%"
}
