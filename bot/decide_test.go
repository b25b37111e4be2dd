package bot

import (
	"context"
	"testing"

	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
)

func TestDecide(t *testing.T) {
	ans, err := ParseAnswers([]byte(`
intents:
  shipping: {auto_reply: true, reply: "3-5 days."}
  refund: {auto_reply: false, reply: "An agent will check."}
  greeting: {auto_reply: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	th := Thresholds{AutoReply: 0.7, Suggest: 0.4}
	for _, tc := range []struct {
		intent string
		conf   float64
		th     Thresholds
		want   Decision
	}{
		{"shipping", 0.7, th, Decision{Action: AutoReply, Reply: "3-5 days."}},
		{"shipping", 0.69, th, Decision{Action: Suggest, Reply: "3-5 days."}},
		{"shipping", 0.39, th, Decision{}},                                             // below the floor: noise
		{"refund", 0.99, th, Decision{Action: Suggest, Reply: "An agent will check."}}, // never sent alone
		{"refund", 0.4, th, Decision{Action: Suggest, Reply: "An agent will check."}},
		{"refund", 0.35, th, Decision{}},
		{"greeting", 0.99, th, Decision{}},                                                                           // no reply
		{"no_such", 0.99, th, Decision{}},                                                                            // not in the answers
		{OutOfScope, 0.99, th, Decision{}},                                                                           // the model says none of these
		{"", 0.99, th, Decision{}},                                                                                   // not classified
		{"shipping", 0.8, Thresholds{AutoReply: 0.7, Suggest: 0.9}, Decision{Action: AutoReply, Reply: "3-5 days."}}, // the floor does not gate auto-replies
		{"refund", 0.8, Thresholds{AutoReply: 0.7, Suggest: 0.9}, Decision{}},
		{"shipping", 1, Thresholds{AutoReply: 1, Suggest: 0.4}, Decision{Action: Suggest, Reply: "3-5 days."}}, // 1: auto-replies off
	} {
		if got := Decide(ans, tc.intent, tc.conf, tc.th); got != tc.want {
			t.Errorf("Decide(%s, %v, %+v) = %+v, want %+v", tc.intent, tc.conf, tc.th, got, tc.want)
		}
	}
	if got := Decide(nil, "shipping", 1, th); got != (Decision{}) {
		t.Errorf("no answers: %+v", got)
	}
}

// The console's suggestion lookup and the relay's Assess follow the same
// floor: a guess below it is not shown beside the message.
func TestSuggestionFloor(t *testing.T) {
	t.Parallel()
	s := newTestService(t, Options{})
	refund := s.Answers().ReplyIn("refund", "en")
	floor := s.Thresholds().Suggest
	if floor != DefaultSuggestThreshold || floor < 0.25 {
		t.Fatalf("suggestion floor %v, want the default %v, well above chance", floor, DefaultSuggestThreshold)
	}
	if got := s.Suggestion("refund", floor, ""); got != refund {
		t.Errorf("at the floor: %q, want the refund reply", got)
	}
	if got := s.Suggestion("refund", 0.35, ""); got != "" {
		t.Errorf("refund at 35%%: suggestion %q, want none", got)
	}

	// Assess with a floor no message reaches: intents are still stored,
	// suggestions are not.
	s = newTestService(t, Options{SuggestThreshold: 1})
	got, err := s.Assess(context.Background(), []bridge.Inbound{{Kind: chat.KindMessage, Body: "I want a refund"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Intent != "refund" || got[0].Suggestion != "" || got[0].AutoReply != "" {
		t.Errorf("got %+v, want the refund intent with no suggestion", got[0])
	}
}

func TestSuggestThresholdInAnswersFile(t *testing.T) {
	a, err := ParseAnswers([]byte("suggest_threshold: 0.55\n"))
	if err != nil || a.SuggestThreshold != 0.55 || a.Threshold != DefaultThreshold {
		t.Fatalf("got %+v, %v", a, err)
	}
	if a, _ := ParseAnswers(nil); a.SuggestThreshold != DefaultSuggestThreshold {
		t.Errorf("default floor %v", a.SuggestThreshold)
	}
	if _, err := ParseAnswers([]byte("suggest_threshold: 1.5\n")); err == nil {
		t.Error("suggest_threshold 1.5 accepted")
	}
	if _, err := New(context.Background(), Options{SuggestThreshold: -1}); err == nil {
		t.Error("Options.SuggestThreshold -1 accepted")
	}
}
