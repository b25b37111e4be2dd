package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
)

// One language per customer (issue 11 point 2): the bot answers, and the
// console suggests, in the language of the message only; a hand-off is
// flagged and never resolves, a greeting resolves.
func TestAnswersInCustomersLanguage(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	got, err := s.Assess(context.Background(), []bridge.Inbound{
		{ConversationKey: "a", Kind: chat.KindMessage, Body: "I want to talk to a real person please"},
		{ConversationKey: "b", Kind: chat.KindMessage, Body: "转人工"},
		{ConversationKey: "c", Kind: chat.KindMessage, Body: "hello"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got[:2] {
		if !v.Handoff || v.Resolves {
			t.Errorf("message %d: %+v, want a hand-off that does not resolve", i, v)
		}
	}
	hasHan := func(s string) bool {
		return strings.ContainsFunc(s, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff })
	}
	if r := got[0].AutoReply + got[0].Suggestion; r == "" || hasHan(r) {
		t.Errorf("English customer got %q", r)
	}
	if r := got[1].AutoReply + got[1].Suggestion; r == "" || !hasHan(r) || strings.ContainsAny(r, "abcdefghijklmnopqrstuvwxyz") {
		t.Errorf("Chinese customer got %q", r)
	}
	if got[2].Intent == "greeting" && got[2].AutoReply != "" && !got[2].Resolves {
		t.Errorf("greeting: %+v, want it to resolve", got[2])
	}
	ans := s.Answers()
	if zh, en := s.Suggestion("refund", 0.99, "我要退款"), s.Suggestion("refund", 0.99, "refund please"); zh != ans.ReplyIn("refund", "zh") || en != ans.ReplyIn("refund", "en") || zh == en {
		t.Errorf("suggestions zh %q en %q, want each in its language only", zh, en)
	}
}

func TestOldSingleStringReply(t *testing.T) {
	ans, err := ParseAnswers([]byte("intents:\n  hi: {auto_reply: true, reply: \"Hello / 您好\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := ans.ReplyIn("hi", ans.Language("你好")); got != "Hello / 您好" {
		t.Errorf("old form: %q", got)
	}
	if _, err := ParseAnswers([]byte("intents:\n  hi: {reply: {cn: x}}\n")); err == nil || !strings.Contains(err.Error(), "intents.hi.reply") {
		t.Errorf("unknown language: %v", err)
	}
}
