package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/store/batch"
)

// Options configure a Bridge; zero values mean the defaults.
type Options struct {
	// MaxBodyBytes bounds a row's body and what the bot may send for it
	// (relay.max_body_bytes). Default 64 KiB.
	MaxBodyBytes int
	// MaxPayloadBytes bounds a row's payload (relay.max_payload_bytes).
	// Default 64 KiB.
	MaxPayloadBytes int
	Bot             Bot           // default NoBot
	BotTimeout      time.Duration // default 2s: the relay never waits longer on the bot
	Logger          *slog.Logger
}

// Bridge converts rows to chat messages.
type Bridge struct {
	maxBody    int
	maxPayload int
	bot        Bot
	botTimeout time.Duration
	log        *slog.Logger
}

// New builds a Bridge.
func New(o Options) *Bridge {
	b := &Bridge{maxBody: o.MaxBodyBytes, maxPayload: o.MaxPayloadBytes, bot: o.Bot, botTimeout: o.BotTimeout, log: o.Logger}
	if b.maxBody <= 0 {
		b.maxBody = 64 << 10
	}
	if b.maxPayload <= 0 {
		b.maxPayload = 64 << 10
	}
	if b.bot == nil {
		b.bot = NoBot{}
	}
	if b.botTimeout <= 0 {
		b.botTimeout = 2 * time.Second
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	return b
}

// Convert decides the outcome of every row: relayed (with the bot's
// verdict) or failed with a reason. Rows keep their order.
func (b *Bridge) Convert(ctx context.Context, rows []batch.Row) batch.Outcome {
	var out batch.Outcome
	var inbound []Inbound
	for _, r := range rows {
		if reason := b.Invalid(r); reason != "" {
			out.Failed = append(out.Failed, batch.Failed{ID: r.ID, Reason: reason})
			continue
		}
		m := toMessage(r)
		out.Relayed = append(out.Relayed, batch.Relayed{Message: m})
		inbound = append(inbound, Inbound{
			SourceID: r.ID, ConversationKey: m.ConversationKey, Kind: m.Kind,
			Body: m.Body, SenderName: m.SenderName, Payload: m.Payload,
		})
	}
	if len(inbound) == 0 {
		return out
	}
	verdicts, err := b.assess(ctx, inbound)
	if err == nil && len(verdicts) != len(inbound) {
		err = fmt.Errorf("bot returned %d verdicts for %d messages", len(verdicts), len(inbound))
	}
	if err != nil {
		// The bot is an extra: its failure must not hold up the relay.
		b.log.WarnContext(ctx, "bot assessment failed; relaying without it", slog.Int("rows", len(inbound)), slog.Any("error", err))
		return out
	}
	for i, v := range verdicts {
		r := &out.Relayed[i]
		r.Message.Intent = v.Intent
		r.Message.Confidence = v.Confidence
		r.Message.Note = v.Note
		r.AutoReply = strings.TrimSpace(v.AutoReply)
		r.Resolves, r.Handoff = v.Resolves, v.Handoff
		if n := len(r.AutoReply); n > b.maxBody {
			// A template filled with a long payload field: the customer
			// gets nothing rather than a reply no row could hold.
			r.AutoReply = ""
			r.Message.Note = fmt.Sprintf("bot reply not sent: it is %d bytes, over relay.max_body_bytes (%d)", n, b.maxBody)
		}
		if r.AutoReply == "" {
			r.Message.Suggestion = v.Suggestion
		}
	}
	return out
}

// assess asks the bot, within the bot's timeout. A bot that panics is a
// bot that failed: the batch goes on without it.
func (b *Bridge) assess(ctx context.Context, in []Inbound) (verdicts []Verdict, err error) {
	bctx, cancel := context.WithTimeout(ctx, b.botTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			verdicts, err = nil, fmt.Errorf("bot panicked: %v", p)
		}
	}()
	return b.bot.Assess(bctx, in)
}

// Invalid returns the last_error a row that can never be relayed fails
// with ("invalid row: …"), or "". The HTTP ingest asks it before it writes
// a row, so that a request the relay would fail gets the same reason.
func (b *Bridge) Invalid(r batch.Row) string {
	if reason := b.validate(r); reason != "" {
		return "invalid row: " + reason
	}
	return ""
}

// validate returns why a row can never be relayed, or "". The sizes are
// those the store read in SQL, so a row over a limit fails without its
// bytes having been read.
func (b *Bridge) validate(r batch.Row) string {
	bodyBytes, payloadBytes := max(r.BodyBytes, len(r.Body)), r.PayloadBytes
	if r.Payload != nil {
		payloadBytes = max(payloadBytes, len(*r.Payload))
	}
	if reason := validKey(r); reason != "" {
		return reason
	}
	switch {
	case r.TooLong == "sender_name":
		return fmt.Sprintf("sender_name is longer than %d characters", batch.MaxSenderChars)
	case r.TooLong == "kind":
		return fmt.Sprintf("kind is longer than %d characters", batch.MaxKindChars)
	case bodyBytes > b.maxBody:
		return fmt.Sprintf("body is %d bytes, over relay.max_body_bytes (%d)", bodyBytes, b.maxBody)
	case bodyBytes > len(r.Body):
		return fmt.Sprintf("body of %d bytes was not read: over the store's row limit", bodyBytes)
	case !utf8.ValidString(r.Body):
		return "body is not valid UTF-8"
	case strings.TrimSpace(r.Body) == "":
		return "body is empty"
	case !utf8.ValidString(r.SenderName):
		return "sender_name is not valid UTF-8"
	case utf8.RuneCountInString(r.SenderName) > batch.MaxSenderChars:
		return fmt.Sprintf("sender_name is longer than %d characters", batch.MaxSenderChars)
	case strings.TrimSpace(r.Kind) == "":
		return "kind is empty (use 'message' or an event name)"
	case !utf8.ValidString(r.Kind):
		return "kind is not valid UTF-8"
	case utf8.RuneCountInString(r.Kind) > batch.MaxKindChars:
		return fmt.Sprintf("kind is longer than %d characters", batch.MaxKindChars)
	case payloadBytes > b.maxPayload:
		return fmt.Sprintf("payload is %d bytes, over relay.max_payload_bytes (%d)", payloadBytes, b.maxPayload)
	case payloadBytes > 0 && r.Payload == nil:
		return fmt.Sprintf("payload of %d bytes was not read: over the store's row limit", payloadBytes)
	}
	if r.Payload != nil {
		if !utf8.ValidString(*r.Payload) {
			return "payload is not valid UTF-8"
		}
		if strings.TrimSpace(*r.Payload) != "" && !json.Valid([]byte(*r.Payload)) {
			return "payload is not valid JSON"
		}
	}
	return ""
}

// validKey applies the rule of what a conversation key is (README, "the
// contract"): 1 to 191 characters of UTF-8, no control characters, not a
// URL's "." or "..", compared byte for byte. A key the database would
// compare otherwise (trailing spaces under a PAD SPACE collation) fails
// here; one it merges with another conversation fails at commit.
func validKey(r batch.Row) string {
	k := r.ConversationKey
	switch {
	case r.TooLong == "conversation_key" || utf8.RuneCountInString(k) > batch.MaxKeyChars:
		return fmt.Sprintf("conversation_key is longer than %d characters", batch.MaxKeyChars)
	case strings.TrimSpace(k) == "":
		return "conversation_key is empty"
	case !utf8.ValidString(k):
		return "conversation_key is not valid UTF-8"
	case k == "." || k == "..":
		return fmt.Sprintf("conversation_key %q cannot name a conversation in the console's URLs", k)
	case r.TrailingSpaceIgnored:
		return fmt.Sprintf("conversation_key %q ends in a space, which the database's collation ignores"+
			" (MySQL 5.7 has no binary collation that keeps it), so it would be the same conversation as %q;"+
			" write keys without trailing spaces", k, strings.TrimRight(k, " "))
	}
	if i := strings.IndexFunc(k, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(k[i:])
		return fmt.Sprintf("conversation_key contains the control character %U", r)
	}
	return ""
}

func toMessage(r batch.Row) chat.Message {
	m := chat.Message{
		ConversationKey: r.ConversationKey,
		SenderType:      chat.SenderCustomer,
		SenderName:      r.SenderName,
		Kind:            strings.TrimSpace(r.Kind),
		Body:            r.Body,
		SourceID:        r.ID,
		CreatedAt:       r.CreatedAt,
	}
	if m.Kind != chat.KindMessage {
		m.SenderType = chat.SenderSystem
	}
	if r.Payload != nil && strings.TrimSpace(*r.Payload) != "" {
		m.Payload = json.RawMessage(*r.Payload)
	}
	return m
}
