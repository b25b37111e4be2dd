package chatcore

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// CannedReply is one reply of the shared library (canned_replies): an
// agent types /Shortcut in the composer and gets Texts in her language,
// its placeholders filled from the conversation (Render).
type CannedReply struct {
	ID        int64             `json:"id"`
	Shortcut  string            `json:"shortcut"`
	Title     string            `json:"title"`
	Texts     map[string]string `json:"texts"` // language code (en, zh-CN) → text
	UpdatedBy string            `json:"updated_by"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// CannedStore keeps the canned replies and reads what fills them.
type CannedStore interface {
	// CannedReplies lists the library by shortcut.
	CannedReplies(ctx context.Context) ([]CannedReply, error)
	// CannedReply returns one reply, or an error wrapping ErrNotFound.
	CannedReply(ctx context.Context, id int64) (CannedReply, error)
	// SaveCanned creates the reply (ID 0) or replaces the one with its ID,
	// and returns it as stored. A shortcut another reply has is ErrExists;
	// a missing ID ErrNotFound.
	SaveCanned(ctx context.Context, r CannedReply) (CannedReply, error)
	// DeleteCanned removes a reply; a missing one is ErrNotFound.
	DeleteCanned(ctx context.Context, id int64) error
	// ConversationFields returns what a canned reply may fill in from a
	// conversation: customer_name (the sender_name of its latest
	// customer message that has one) and the fields of its relayed
	// payloads (top-level strings, numbers and booleans; a later payload's
	// field wins). A missing conversation is ErrNotFound.
	ConversationFields(ctx context.Context, key string) (map[string]string, error)
}

// Limits of a canned reply.
const (
	maxShortcutLen  = 32
	maxTitleLen     = 191 // bytes, canned_replies.title
	maxCannedLangs  = 8
	maxCannedText   = maxReplyBytes
	maxLanguageCode = 16
)

var (
	shortcutRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	langRE     = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	// placeholderRE matches {{.name}} and {{ .name }}: the one form a
	// canned reply may use. Nothing else in the text is interpreted.
	placeholderRE = regexp.MustCompile(`\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
)

// normalizeCanned trims and checks a reply an admin sends, and says what
// is wrong with it, or "".
func normalizeCanned(r *CannedReply) string {
	r.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(r.Shortcut), "/"))
	r.Title = strings.TrimSpace(r.Title)
	switch {
	case len(r.Shortcut) == 0 || len(r.Shortcut) > maxShortcutLen || !shortcutRE.MatchString(r.Shortcut):
		return "shortcut must be 1 to 32 characters a-z, 0-9, _ and -, starting with a letter or digit"
	case r.Title == "" || len(r.Title) > maxTitleLen || !utf8.ValidString(r.Title):
		return "title must be valid UTF-8 of 1 to 191 bytes"
	case len(r.Texts) > maxCannedLangs:
		return "texts may have at most 8 languages"
	}
	texts := map[string]string{}
	for lang, text := range r.Texts {
		if len(lang) > maxLanguageCode || !langRE.MatchString(lang) {
			return "texts: " + quoteShort(lang) + " is not a language code such as en or zh-CN"
		}
		if len(text) > maxCannedText || !utf8.ValidString(text) {
			return "texts." + lang + " must be valid UTF-8 of at most 64 KiB"
		}
		if strings.TrimSpace(text) != "" {
			texts[lang] = text
		}
	}
	if len(texts) == 0 {
		return "texts must have a text in at least one language"
	}
	r.Texts = texts
	return ""
}

func quoteShort(s string) string {
	if len(s) > 20 {
		s = s[:20] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// TextIn returns the reply's text in lang and the language it is in: lang
// itself, else one of lang's primary language (zh for zh-TW, or zh-CN for
// zh), else English, else the first by code.
func (r CannedReply) TextIn(lang string) (string, string) {
	if t, ok := r.Texts[lang]; ok {
		return t, lang
	}
	codes := slices.Sorted(maps.Keys(r.Texts))
	primary, _, _ := strings.Cut(lang, "-")
	for _, c := range codes {
		if p, _, _ := strings.Cut(c, "-"); primary != "" && strings.EqualFold(p, primary) {
			return r.Texts[c], c
		}
	}
	for _, c := range codes {
		if p, _, _ := strings.Cut(c, "-"); p == "en" {
			return r.Texts[c], c
		}
	}
	if len(codes) == 0 {
		return "", ""
	}
	return r.Texts[codes[0]], codes[0]
}

// Render fills the placeholders {{.name}} of text from values. A
// placeholder without a value stays as written, a marker the agent sees
// and fixes before sending; missing lists their names, sorted, once each.
// Values are inserted as they are: the composer is plain text.
func Render(text string, values map[string]string) (out string, missing []string) {
	seen := map[string]bool{}
	out = placeholderRE.ReplaceAllStringFunc(text, func(ph string) string {
		name := placeholderRE.FindStringSubmatch(ph)[1]
		if v, ok := values[name]; ok && v != "" {
			return v
		}
		if !seen[name] {
			seen[name] = true
			missing = append(missing, name)
		}
		return ph
	})
	sort.Strings(missing)
	return out, missing
}
