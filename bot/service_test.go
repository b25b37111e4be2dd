package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
)

func TestDefaultModelAnswersEnglishAndChinese(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	cases := []struct{ text, intent string }{
		{"where is my order", "order_status"},
		{"Where is my package? It's been a week", "order_status"},
		{"我的订单到哪了", "order_status"},
		{"我要退款", "refund"},
		{"I want my money back", "refund"},
		{"how much does shipping cost", "shipping"},
		{"包邮吗", "shipping"},
		{"please cancel my order", "cancel_order"},
		{"帮我取消订单", "cancel_order"},
		{"I need to change my delivery address", "change_address"},
		{"地址填错了", "change_address"},
		{"my card was declined", "payment_failed"},
		{"支付失败了", "payment_failed"},
		{"can I get an invoice", "invoice"},
		{"我需要发票", "invoice"},
		{"what time do you open", "opening_hours"},
		{"几点下班", "opening_hours"},
		{"hello", "greeting"},
		{"你好", "greeting"},
		{"thank you!", "thanks"},
		{"谢谢", "thanks"},
		{"let me talk to a human", "human_agent"},
		{"转人工", "human_agent"},
		{"ＷＨＥＲＥ  IS   MY ORDER？", "order_status"}, // full-width, spacing and case
	}
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.text
	}
	res, err := s.Classify(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if res[i].Intent != c.intent {
			t.Errorf("%q: got %s (%.2f), want %s", c.text, res[i].Intent, res[i].Confidence, c.intent)
		}
	}
}

func TestAssess(t *testing.T) {
	t.Parallel()
	answers := []byte(`
threshold: 0.6
intents:
  order_status: {auto_reply: true, reply: "Tracking is under My Orders."}
  refund: {auto_reply: false, reply: "An agent will check your refund."}
events:
  order_created: "Thanks! Your order {{.order_id}} is confirmed."
`)
	s := newTestService(t, Options{Answers: answers})
	msg := func(body string) bridge.Inbound {
		return bridge.Inbound{Kind: chat.KindMessage, Body: body}
	}
	event := func(kind, payload string) bridge.Inbound {
		return bridge.Inbound{Kind: kind, Payload: json.RawMessage(payload)}
	}
	in := []bridge.Inbound{
		msg("where is my order?"),
		msg("我要退款"),
		msg("   "),
		event("order_created", `{"order_id": 1234567890123}`),
		event("order_created", `{"customer": "ann"}`), // field missing
		event("order_created", `not json`),
		event("order_cancelled", `{"order_id": 7}`), // no template
		msg("hello"), // greeting: no answer configured here
	}
	got, err := s.Assess(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("%d verdicts for %d rows", len(got), len(in))
	}
	check := func(i int, want bridge.Verdict) {
		t.Helper()
		g := got[i]
		if g.Intent != want.Intent || g.AutoReply != want.AutoReply || g.Suggestion != want.Suggestion || !strings.HasPrefix(g.Note, want.Note) {
			t.Errorf("row %d: got %+v, want %+v", i, g, want)
		}
		if want.Intent != "" && (g.Confidence <= 0 || g.Confidence > 1) {
			t.Errorf("row %d: confidence %v out of (0, 1]", i, g.Confidence)
		}
	}
	check(0, bridge.Verdict{Intent: "order_status", AutoReply: "Tracking is under My Orders."})
	check(1, bridge.Verdict{Intent: "refund", Suggestion: "An agent will check your refund."})
	check(2, bridge.Verdict{})
	check(3, bridge.Verdict{AutoReply: "Thanks! Your order 1234567890123 is confirmed."})
	// A template that cannot answer says why, for the agents and the row.
	check(4, bridge.Verdict{Note: "bot did not answer: event template order_created: the payload has no field order_id"})
	check(5, bridge.Verdict{Note: "bot did not answer: event template order_created: payload: invalid character"})
	check(6, bridge.Verdict{})
	check(7, bridge.Verdict{Intent: "greeting"})

	// The same batch again: the three messages now come from the cache.
	if _, err := s.Assess(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	want := Stats{Classified: 6, CacheHits: 3}
	if st := s.Stats(); st != want {
		t.Errorf("Stats after two batches = %+v, want %+v", st, want)
	}
}

func TestAssessBelowThresholdSuggests(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{Threshold: 1}) // nothing is ever that sure
	got, err := s.Assess(context.Background(), []bridge.Inbound{{Kind: chat.KindMessage, Body: "hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Intent != "greeting" || got[0].AutoReply != "" || got[0].Suggestion == "" {
		t.Errorf("got %+v, want a greeting suggestion and no auto-reply", got[0])
	}
}

func TestNoRuntime(t *testing.T) {
	t.Parallel()
	_, err := New(context.Background(), Options{LibraryPath: "/nonexistent/libonnxruntime.so", Logger: quietLogger()})
	if !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("got %v, want ErrNoRuntime", err)
	}
}

func TestCloseIsIdempotentAndFinal(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	done := make(chan error)
	go func() { done <- s.Run(context.Background()) }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// nil when Run was already running, ErrClosed when Close came first.
	if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
		t.Errorf("Run returned %v after Close, want nil or ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Assess(context.Background(), []bridge.Inbound{{Kind: chat.KindMessage, Body: "hi"}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Assess after Close: got %v, want ErrClosed", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: got %v, want ErrClosed", err)
	}
}

func TestCacheServesRepeatsAndResetsOnSwap(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	ctx := context.Background()
	first, err := s.Classify(ctx, []string{"where is my order"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.acquire()
	n := c.cache.Len()
	c.release()
	if n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
	again, err := s.Classify(ctx, []string{"  WHERE is my ORDER "}) // same normalised text
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != first[0] {
		t.Errorf("cached result %+v differs from %+v", again[0], first[0])
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ = s.acquire()
	n = c.cache.Len()
	c.release()
	if n != 0 {
		t.Errorf("cache holds %d entries after a model swap, want 0", n)
	}
}

func TestKeyTruncatesOnARuneBoundary(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("退款", maxTextBytes) // 3 bytes a rune
	k := key(long)
	if len(k) > maxTextBytes || !utf8.ValidString(k) || !strings.HasPrefix(long, k) {
		t.Errorf("key of a long text: %d bytes, valid UTF-8 %v", len(k), utf8.ValidString(k))
	}
	if got := key("  Where IS my order  "); got != "where is my order" {
		t.Errorf("key = %q", got)
	}
}

// Suggestion is what Assess would have put beside a message: the reply,
// unless the intent auto-replies and the bot was sure enough to send it, or
// the bot was too unsure to show it.
func TestSuggestionFollowsAnswersAndThreshold(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	ans := s.Answers()
	shipping, refund := ans.Intents["shipping"], ans.Intents["refund"]
	if !shipping.AutoReply || refund.AutoReply || shipping.Reply["en"] == "" || refund.Reply["en"] == "" {
		t.Fatalf("configs/bot.yaml changed: shipping %+v, refund %+v", shipping, refund)
	}
	th, floor := s.Threshold(), s.Thresholds().Suggest
	for _, tc := range []struct {
		intent     string
		confidence float64
		want       string
	}{
		{"shipping", th, ""}, // answered by the bot itself
		{"shipping", (th + floor) / 2, shipping.Reply["en"]}, // not sure enough: the agent decides
		{"shipping", floor / 2, ""},                          // below the floor: not worth showing
		{"refund", 0.99, refund.Reply["en"]},                 // never answered automatically
		{"no_such_intent", 0.99, ""},                         // nothing to suggest
	} {
		if got := s.Suggestion(tc.intent, tc.confidence, "where is it?"); got != tc.want {
			t.Errorf("Suggestion(%q, %v) = %q, want %q", tc.intent, tc.confidence, got, tc.want)
		}
	}
}

// Long texts are classified but not cached: they rarely come again.
func TestCacheKeepsOnlyShortTexts(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	ctx := context.Background()
	long := strings.Repeat("my parcel has not arrived yet ", 5) // 150 bytes
	for range 2 {
		if _, err := s.Classify(ctx, []string{long, "thanks"}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := s.acquire()
	defer c.release()
	if n := c.cache.Len(); n != 1 || !c.cache.Contains("thanks") {
		t.Fatalf("cache holds %d entries (%v), want only the short text", n, c.cache.Keys())
	}
}

// Text with nothing in it is not classified, as in Assess.
func TestClassifyLeavesEmptyTextAlone(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	got, err := s.Classify(context.Background(), []string{"   ", "where is my order", ""})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != (Result{}) || got[2] != (Result{}) || got[1].Intent == "" {
		t.Fatalf("got %+v; want zero results for the empty texts and an intent for the other", got)
	}
}
