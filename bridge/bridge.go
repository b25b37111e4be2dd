package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/store"
)

// Options configure a Bridge; zero values mean the defaults.
type Options struct {
	MaxBodyBytes int           // default 64 KiB
	Bot          Bot           // default NoBot
	BotTimeout   time.Duration // default 2s: the relay never waits longer on the bot
	Logger       *slog.Logger
}

// Bridge converts rows to chat messages.
type Bridge struct {
	maxBody    int
	bot        Bot
	botTimeout time.Duration
	log        *slog.Logger
}

// New builds a Bridge.
func New(o Options) *Bridge {
	b := &Bridge{maxBody: o.MaxBodyBytes, bot: o.Bot, botTimeout: o.BotTimeout, log: o.Logger}
	if b.maxBody <= 0 {
		b.maxBody = 64 << 10
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
func (b *Bridge) Convert(ctx context.Context, rows []store.Row) store.Outcome {
	var out store.Outcome
	var inbound []Inbound
	for _, r := range rows {
		if reason := b.validate(r); reason != "" {
			out.Failed = append(out.Failed, store.Failed{ID: r.ID, Reason: "invalid row: " + reason})
			continue
		}
		m := toMessage(r)
		out.Relayed = append(out.Relayed, store.Relayed{Message: m})
		inbound = append(inbound, Inbound{
			SourceID: r.ID, ConversationKey: m.ConversationKey, Kind: m.Kind,
			Body: m.Body, SenderName: m.SenderName, Payload: m.Payload,
		})
	}
	if len(inbound) == 0 {
		return out
	}
	bctx, cancel := context.WithTimeout(ctx, b.botTimeout)
	defer cancel()
	verdicts, err := b.bot.Assess(bctx, inbound)
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
		r.AutoReply = strings.TrimSpace(v.AutoReply)
		if r.AutoReply == "" {
			r.Message.Suggestion = v.Suggestion
		}
	}
	return out
}

func (b *Bridge) validate(r store.Row) string {
	switch {
	case strings.TrimSpace(r.ConversationKey) == "":
		return "conversation_key is empty"
	case !utf8.ValidString(r.ConversationKey):
		return "conversation_key is not valid UTF-8"
	case !utf8.ValidString(r.Body):
		return "body is not valid UTF-8"
	case strings.TrimSpace(r.Body) == "":
		return "body is empty"
	case len(r.Body) > b.maxBody:
		return fmt.Sprintf("body is %d bytes, over relay.max_body_bytes (%d)", len(r.Body), b.maxBody)
	case !utf8.ValidString(r.SenderName):
		return "sender_name is not valid UTF-8"
	case strings.TrimSpace(r.Kind) == "":
		return "kind is empty (use 'message' or an event name)"
	case !utf8.ValidString(r.Kind):
		return "kind is not valid UTF-8"
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

func toMessage(r store.Row) chat.Message {
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
