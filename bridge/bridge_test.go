package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/store/batch"
)

func ptr(s string) *string { return &s }

func TestConvertValidates(t *testing.T) {
	ok := batch.Row{ID: 1, ConversationKey: "c", Body: "hi", Kind: "message"}
	for _, tc := range []struct {
		name   string
		edit   func(r *batch.Row)
		reason string // "" means relayed
	}{
		{"valid", func(r *batch.Row) {}, ""},
		{"valid event with payload", func(r *batch.Row) { r.Kind = "order_created"; r.Payload = ptr(`{"order_id":1}`) }, ""},
		{"empty key", func(r *batch.Row) { r.ConversationKey = "  " }, "conversation_key is empty"},
		{"empty body", func(r *batch.Row) { r.Body = "\n" }, "body is empty"},
		{"invalid utf-8 body", func(r *batch.Row) { r.Body = "a\xffb" }, "body is not valid UTF-8"},
		{"invalid utf-8 key", func(r *batch.Row) { r.ConversationKey = "\xc3" }, "conversation_key is not valid UTF-8"},
		{"payload not json", func(r *batch.Row) { r.Payload = ptr("{nope") }, "payload is not valid JSON"},
		{"body too long", func(r *batch.Row) { r.Body = strings.Repeat("x", 11) }, "body is 11 bytes, over relay.max_body_bytes (10)"},
		{"body too long, not read", func(r *batch.Row) { r.Body, r.BodyBytes = "", 10<<20 }, "body is 10485760 bytes, over relay.max_body_bytes (10)"},
		{"body not read", func(r *batch.Row) { r.Body, r.BodyBytes = "", 5 }, "body of 5 bytes was not read"},
		{"payload too long", func(r *batch.Row) { r.Payload = ptr(`{"a":"` + strings.Repeat("x", 20) + `"}`) }, "payload is 28 bytes, over relay.max_payload_bytes (20)"},
		{"payload too long, not read", func(r *batch.Row) { r.PayloadBytes = 10 << 20 }, "payload is 10485760 bytes, over relay.max_payload_bytes (20)"},
		{"empty kind", func(r *batch.Row) { r.Kind = "" }, "kind is empty"},
		{"long kind", func(r *batch.Row) { r.Kind = strings.Repeat("k", 65) }, "kind is longer than 64 characters"},
		{"long sender", func(r *batch.Row) { r.SenderName = strings.Repeat("s", 192) }, "sender_name is longer than 191 characters"},
		{"long key", func(r *batch.Row) { r.ConversationKey = strings.Repeat("ü", 192) }, "conversation_key is longer than 191 characters"},
		{"long key, not read", func(r *batch.Row) { r.ConversationKey, r.TooLong = "", "conversation_key" }, "conversation_key is longer than 191 characters"},
		{"long sender, not read", func(r *batch.Row) { r.TooLong = "sender_name" }, "sender_name is longer than 191 characters"},
		{"long kind, not read", func(r *batch.Row) { r.Kind, r.TooLong = "", "kind" }, "kind is longer than 64 characters"},
		{"key with NUL", func(r *batch.Row) { r.ConversationKey = "k\x00" }, "control character U+0000"},
		{"key of 191 characters", func(r *batch.Row) { r.ConversationKey = strings.Repeat("ü", 191) }, ""},
		{"key with a control character", func(r *batch.Row) { r.ConversationKey = "order	1" }, "conversation_key contains the control character U+0009"},
		{"key with a C1 control", func(r *batch.Row) { r.ConversationKey = "order1" }, "U+0085"},
		{"key dot", func(r *batch.Row) { r.ConversationKey = "." }, `conversation_key "." cannot name a conversation`},
		{"key dot dot", func(r *batch.Row) { r.ConversationKey = ".." }, `conversation_key ".." cannot name`},
		{"key with spaces, compared as written", func(r *batch.Row) { r.ConversationKey = " order 1 " }, ""},
		{"key whose trailing space the database ignores", func(r *batch.Row) { r.ConversationKey, r.TrailingSpaceIgnored = "order-1002 ", true },
			`conversation_key "order-1002 " ends in a space, which the database's collation ignores`},
		{"case and accents are kept", func(r *batch.Row) { r.ConversationKey = "Café-1003" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			out := New(Options{MaxBodyBytes: 10, MaxPayloadBytes: 20}).Convert(context.Background(), []batch.Row{r})
			if tc.reason == "" {
				if len(out.Relayed) != 1 || len(out.Failed) != 0 {
					t.Fatalf("got %+v, want relayed", out)
				}
				return
			}
			if len(out.Failed) != 1 || !strings.Contains(out.Failed[0].Reason, tc.reason) {
				t.Fatalf("got %+v, want failed with %q", out, tc.reason)
			}
		})
	}
}

func TestEventsBecomeSystemNotes(t *testing.T) {
	out := New(Options{}).Convert(context.Background(), []batch.Row{
		{ID: 1, ConversationKey: "c", Body: "hello", Kind: "message", SenderName: "Ann"},
		{ID: 2, ConversationKey: "c", Body: "Order 7 created", Kind: "order_created", Payload: ptr(`{"order_id":7}`)},
	})
	if len(out.Relayed) != 2 {
		t.Fatalf("relayed %d", len(out.Relayed))
	}
	m, ev := out.Relayed[0].Message, out.Relayed[1].Message
	if m.SenderType != chat.SenderCustomer || m.SenderName != "Ann" || m.SourceID != 1 {
		t.Fatalf("message: %+v", m)
	}
	if ev.SenderType != chat.SenderSystem || ev.Kind != "order_created" || string(ev.Payload) != `{"order_id":7}` {
		t.Fatalf("event: %+v", ev)
	}
}

type fakeBot struct {
	verdicts []Verdict
	err      error
}

func (f fakeBot) Assess(context.Context, []Inbound) ([]Verdict, error) { return f.verdicts, f.err }

func TestBotVerdicts(t *testing.T) {
	rows := []batch.Row{
		{ID: 1, ConversationKey: "a", Body: "where is my order", Kind: "message"},
		{ID: 2, ConversationKey: "b", Body: "", Kind: "message"}, // invalid: the bot never sees it
		{ID: 3, ConversationKey: "c", Body: "refund please", Kind: "message"},
	}
	bot := fakeBot{verdicts: []Verdict{
		{Intent: "order_status", Confidence: 0.9, AutoReply: "Track it under My orders."},
		{Intent: "refund", Confidence: 0.5, Suggestion: "Refunds take 5 days."},
	}}
	out := New(Options{Bot: bot}).Convert(context.Background(), rows)
	if len(out.Relayed) != 2 || len(out.Failed) != 1 {
		t.Fatalf("got %+v", out)
	}
	a, c := out.Relayed[0], out.Relayed[1]
	if a.AutoReply != "Track it under My orders." || a.Message.Intent != "order_status" || a.Message.Suggestion != "" {
		t.Fatalf("auto-replied row: %+v", a)
	}
	if c.AutoReply != "" || c.Message.Suggestion != "Refunds take 5 days." || c.Message.Confidence != 0.5 {
		t.Fatalf("suggested row: %+v", c)
	}
	// A failing or misbehaving bot never holds up the relay.
	for _, b := range []Bot{fakeBot{err: errors.New("runtime crashed")}, fakeBot{verdicts: []Verdict{{}}}} {
		out := New(Options{Bot: b}).Convert(context.Background(), rows)
		if len(out.Relayed) != 2 || out.Relayed[0].AutoReply != "" || out.Relayed[0].Message.Intent != "" {
			t.Fatalf("with a broken bot: %+v", out)
		}
	}
}

type panicBot struct{}

func (panicBot) Assess(context.Context, []Inbound) ([]Verdict, error) { panic("model blew up") }

// A bot that panics is a bot that failed: the batch is relayed without it.
func TestBotPanicRelaysWithoutBot(t *testing.T) {
	out := New(Options{Bot: panicBot{}}).Convert(context.Background(), []batch.Row{{ID: 1, ConversationKey: "c", Body: "hi", Kind: "message"}})
	if len(out.Relayed) != 1 || out.Relayed[0].AutoReply != "" {
		t.Fatalf("got %+v", out)
	}
}

// What the bot sends is bounded like a row's body; a reply over it is not
// sent, and the message carries the reason as its note, as it carries the
// bot's own note (an event template that could not answer).
func TestBotRepliesAreBounded(t *testing.T) {
	rows := []batch.Row{
		{ID: 1, ConversationKey: "c", Body: "Order created", Kind: "order_created", Payload: ptr(`{"order_id": "9999999999"}`)},
		{ID: 2, ConversationKey: "c", Body: "Order created", Kind: "order_created", Payload: ptr(`{"order_id": null}`)},
		{ID: 3, ConversationKey: "c", Body: "Order created", Kind: "order_created", Payload: ptr(`{"order_id": 7}`)},
	}
	bot := fakeBot{verdicts: []Verdict{
		{AutoReply: "Your order " + strings.Repeat("9999999999", 10) + " is confirmed."},
		{Note: "bot did not answer: event template order_created: payload field order_id is null"},
		{AutoReply: "Your order 7 is confirmed."},
	}}
	out := New(Options{MaxBodyBytes: 64, Bot: bot}).Convert(context.Background(), rows)
	if len(out.Relayed) != 3 {
		t.Fatalf("got %+v", out)
	}
	if r := out.Relayed[0]; r.AutoReply != "" || !strings.Contains(r.Message.Note, "bot reply not sent: it is 125 bytes, over relay.max_body_bytes (64)") {
		t.Errorf("oversized reply: %+v", r)
	}
	if r := out.Relayed[1]; r.AutoReply != "" || r.Message.Note != bot.verdicts[1].Note {
		t.Errorf("bot's note: %+v", r)
	}
	if r := out.Relayed[2]; r.AutoReply != "Your order 7 is confirmed." || r.Message.Note != "" {
		t.Errorf("reply within the limit: %+v", r)
	}
}
