package chatcore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

var testIntents = []string{"order_status", "out_of_scope", "refund"}

// An agent labels a reply with an intent and corrects the bot's intent on
// a customer message; the labels come back with the conversation. Only a
// logged-in agent on the console's own origin may, with a known intent,
// on a message of that conversation, with a small body.
func TestLabelAPI(t *testing.T) {
	t.Parallel()
	for _, dialect := range chatstoretest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{dialect: dialect, mutate: func(o *chatcore.Options) {
				o.Intents = func() []string { return testIntents }
			}})
			alice := b.login(t, "alice")
			anon := b.client(t)
			in := chatstoretest.Relay(t, b.db, "order-1", "where is my parcel")
			if err := b.db.Exec(`UPDATE chat_messages SET intent = 'order_status', confidence = 0.8 WHERE id = ?`, in[0].ID).Error; err != nil {
				t.Fatal(err)
			}
			chatstoretest.Relay(t, b.db, "order-2", "other")
			var sent struct {
				Message chatcore.Message `json:"message"`
			}
			res := alice.do("POST", "/api/conversations/order-1/replies", map[string]string{"body": "Your refund is on its way", "client_id": "r1"}, nil)
			if res.status != 200 {
				t.Fatalf("reply: %d %s", res.status, res.body)
			}
			res.decode(t, &sent)

			var list struct{ Intents []string }
			if res := alice.do("GET", "/api/intents", nil, nil); res.status != 200 {
				t.Fatalf("intents: %d %s", res.status, res.body)
			} else if res.decode(t, &list); strings.Join(list.Intents, ",") != strings.Join(testIntents, ",") {
				t.Fatalf("intents = %v", list.Intents)
			}

			label := func(c *client, key string, id int64, body any, hdr map[string]string) response {
				return c.do("POST", fmt.Sprintf("/api/conversations/%s/messages/%d/label", key, id), body, hdr)
			}
			refund := map[string]string{"intent": "refund"}
			// The reply: the customer wanted a refund, not the order status.
			var got struct{ Label chatcore.Label }
			res = label(alice, "order-1", sent.Message.ID, refund, nil)
			if res.status != 200 {
				t.Fatalf("label reply: %d %s", res.status, res.body)
			}
			res.decode(t, &got)
			if l := got.Label; l.Intent != "refund" || l.LabelledBy != "alice" || !l.CorrectsBot || l.BotIntent != "order_status" || l.MessageID != sent.Message.ID {
				t.Fatalf("reply label = %+v", l)
			}
			// The customer message: agreeing with the bot corrects nothing.
			res = label(alice, "order-1", in[0].ID, map[string]string{"intent": "order_status"}, nil)
			if res.decode(t, &got); res.status != 200 || got.Label.CorrectsBot {
				t.Fatalf("label customer message: %d %s", res.status, res.body)
			}
			var labels struct{ Labels []chatcore.Label }
			res = alice.do("GET", "/api/conversations/order-1/labels", nil, nil)
			if res.decode(t, &labels); res.status != 200 || len(labels.Labels) != 2 ||
				labels.Labels[0].MessageID != in[0].ID || labels.Labels[1].Intent != "refund" {
				t.Fatalf("labels: %d %s", res.status, res.body)
			}

			for _, c := range []struct {
				name   string
				client *client
				key    string
				id     int64
				body   any
				hdr    map[string]string
				want   int
			}{
				{"no session", anon, "order-1", in[0].ID, refund, nil, 401},
				{"foreign origin", alice, "order-1", in[0].ID, refund, map[string]string{"Origin": "https://evil.example"}, 403},
				{"cross-site", alice, "order-1", in[0].ID, refund, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
				{"unknown intent", alice, "order-1", in[0].ID, map[string]string{"intent": "free_money"}, nil, 400},
				{"no intent", alice, "order-1", in[0].ID, map[string]string{}, nil, 400},
				{"another conversation's message", alice, "order-2", in[0].ID, refund, nil, 404},
				{"missing message", alice, "order-1", 1 << 40, refund, nil, 404},
				{"bad id", alice, "order-1", -1, refund, nil, 400},
				{"large body", alice, "order-1", in[0].ID, map[string]string{"intent": "refund", "pad": strings.Repeat("x", 5000)}, nil, 400},
			} {
				res := label(c.client, c.key, c.id, c.body, c.hdr)
				if res.status != c.want {
					t.Errorf("%s: %d %s, want %d", c.name, res.status, res.body, c.want)
				} else {
					assertJSONError(t, res)
				}
			}
			// Nothing of that changed the labels.
			res = alice.do("GET", "/api/conversations/order-1/labels", nil, nil)
			if res.decode(t, &labels); len(labels.Labels) != 2 || labels.Labels[1].Intent != "refund" || labels.Labels[0].Intent != "order_status" {
				t.Fatalf("labels after refused requests: %s", res.body)
			}
			if res := anon.do("GET", "/api/conversations/order-1/labels", nil, nil); res.status != 401 {
				t.Fatalf("labels without a session: %d", res.status)
			}
			if res := anon.do("GET", "/api/intents", nil, nil); res.status != 401 {
				t.Fatalf("intents without a session: %d", res.status)
			}
		})
	}
}

// With the bot off there is nothing to label with.
func TestLabelAPIBotOff(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice := b.login(t, "alice")
	in := chatstoretest.Relay(t, b.db, "k", "hello")
	if res := alice.do("GET", "/api/intents", nil, nil); res.status != 200 || !strings.Contains(res.body, `"intents":[]`) {
		t.Fatalf("intents with the bot off: %d %s", res.status, res.body)
	}
	if res := alice.do("POST", fmt.Sprintf("/api/conversations/k/messages/%d/label", in[0].ID), map[string]string{"intent": "refund"}, nil); res.status != 409 {
		t.Fatalf("label with the bot off: %d %s", res.status, res.body)
	}
}

// The last retrain's figures are for admins: others get 403, and a
// revoked admin loses them at the next request.
func TestRetrainFiguresAdminOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice, bob := b.login(t, "alice"), b.login(t, "bob")
	if err := b.store.SetAgentAdmin(b.ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if res := bob.do("GET", "/api/bot/retrain", nil, nil); res.status != 403 {
		t.Fatalf("non-admin: %d %s", res.status, res.body)
	}
	if res := b.client(t).do("GET", "/api/bot/retrain", nil, nil); res.status != 401 {
		t.Fatalf("no session: %d %s", res.status, res.body)
	}
	var me struct {
		Username string
		Admin    bool
	}
	alice.do("GET", "/api/me", nil, nil).decode(t, &me)
	if !me.Admin || me.Username != "alice" {
		t.Fatalf("alice: me = %+v", me)
	}
	bob.do("GET", "/api/me", nil, nil).decode(t, &me)
	if me.Admin || me.Username != "bob" {
		t.Fatalf("bob: me = %+v", me)
	}
	if res := alice.do("GET", "/api/bot/retrain", nil, nil); res.status != 200 || !strings.Contains(res.body, `"retrain":null`) {
		t.Fatalf("before any retrain: %d %s", res.status, res.body)
	}
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	if _, err := b.store.RecordRetrain(b.ctx, chatcore.Retrain{StartedAt: at, FinishedAt: at.Add(time.Second), RanBy: "ops@host", Command: "syncd bot retrain",
		ModelPath: "/m.onnx", OldAccuracy: 0.9, NewAccuracy: 0.925, TrainSize: 1700, HeldOutSize: 500, LabelledSize: 300, Installed: true, Reason: "installed"}); err != nil {
		t.Fatal(err)
	}
	var got struct{ Retrain *chatcore.Retrain }
	res := alice.do("GET", "/api/bot/retrain", nil, nil)
	if res.decode(t, &got); res.status != 200 || got.Retrain == nil || got.Retrain.NewAccuracy != 0.925 || !got.Retrain.Installed ||
		got.Retrain.HeldOutSize != 500 || !got.Retrain.StartedAt.Equal(at) {
		t.Fatalf("retrain figures: %d %s", res.status, res.body)
	}
	if res := bob.do("GET", "/api/bot/retrain", nil, nil); res.status != 403 || strings.Contains(res.body, "0.925") {
		t.Fatalf("non-admin after a retrain: %d %s", res.status, res.body)
	}
	// Another admin first: the last one cannot be revoked.
	if err := b.store.SetAgentAdmin(b.ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	if err := b.store.SetAgentAdmin(b.ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if res := alice.do("GET", "/api/bot/retrain", nil, nil); res.status != 403 {
		t.Fatalf("revoked admin: %d %s", res.status, res.body)
	}
}
