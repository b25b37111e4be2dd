package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/store"
)

func ptr(s string) *string { return &s }

func TestConvertValidates(t *testing.T) {
	ok := store.Row{ID: 1, ConversationKey: "c", Body: "hi", Kind: "message"}
	for _, tc := range []struct {
		name   string
		edit   func(r *store.Row)
		reason string // "" means relayed
	}{
		{"valid", func(r *store.Row) {}, ""},
		{"valid event with payload", func(r *store.Row) { r.Kind = "order_created"; r.Payload = ptr(`{"order_id":1}`) }, ""},
		{"empty key", func(r *store.Row) { r.ConversationKey = "  " }, "conversation_key is empty"},
		{"empty body", func(r *store.Row) { r.Body = "\n" }, "body is empty"},
		{"invalid utf-8 body", func(r *store.Row) { r.Body = "a\xffb" }, "body is not valid UTF-8"},
		{"invalid utf-8 key", func(r *store.Row) { r.ConversationKey = "\xc3" }, "conversation_key is not valid UTF-8"},
		{"payload not json", func(r *store.Row) { r.Payload = ptr("{nope") }, "payload is not valid JSON"},
		{"body too long", func(r *store.Row) { r.Body = strings.Repeat("x", 11) }, "body is 11 bytes, over relay.max_body_bytes (10)"},
		{"empty kind", func(r *store.Row) { r.Kind = "" }, "kind is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			out := New(Options{MaxBodyBytes: 10}).Convert(context.Background(), []store.Row{r})
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
	out := New(Options{}).Convert(context.Background(), []store.Row{
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
	rows := []store.Row{
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
