package chatstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// A label on a customer message or on an agent reply is stored once per
// message (a second one replaces it), knows whether it corrects the bot,
// and the labelled history gives the customer's text once per customer
// message, with its latest label.
func TestLabels(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		in := chatstoretest.Relay(t, b.db, "order-7", "where is my parcel", "also I want my money back")
		if err := b.db.Exec(`UPDATE chat_messages SET intent = 'order_status', confidence = 0.9 WHERE id = ?`, in[0].ID).Error; err != nil {
			t.Fatal(err)
		}
		res, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "order-7", Author: "alice", Body: "Refund on its way", ClientID: "r1", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		reply := res.Message
		at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

		// The bot said order_status; alice agrees: no correction.
		got, err := b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: in[0].ID, ConversationKey: "order-7", Intent: "order_status", LabelledBy: "alice", LabelledAt: at})
		if err != nil || got.CorrectsBot || got.BotIntent != "order_status" || !got.LabelledAt.Equal(at.Truncate(time.Microsecond)) {
			t.Fatalf("agreeing label = %+v, %v", got, err)
		}
		// Then bob corrects it: one row, bob's.
		got, err = b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: in[0].ID, ConversationKey: "order-7", Intent: "shipping", LabelledBy: "bob", LabelledAt: at.Add(time.Second)})
		if err != nil || !got.CorrectsBot {
			t.Fatalf("correcting label = %+v, %v", got, err)
		}
		if n := count(t, b.db, `SELECT COUNT(*) FROM chat_labels`); n != 1 {
			t.Fatalf("chat_labels rows = %d after relabelling, want 1", n)
		}
		// The reply answers the second customer message, which the bot
		// did not classify: a label there corrects nothing.
		got, err = b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: reply.ID, ConversationKey: "order-7", Intent: "refund", LabelledBy: "alice", LabelledAt: at.Add(2 * time.Second)})
		if err != nil || got.CorrectsBot || got.BotIntent != "" {
			t.Fatalf("reply label = %+v, %v", got, err)
		}
		// and a direct label of that customer message, later, wins over it.
		if _, err := b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: in[1].ID, ConversationKey: "order-7", Intent: "complaint", LabelledBy: "bob", LabelledAt: at.Add(3 * time.Second)}); err != nil {
			t.Fatal(err)
		}

		labels, err := b.store.ConversationLabels(b.ctx, "order-7")
		if err != nil || len(labels) != 3 {
			t.Fatalf("ConversationLabels = %+v, %v", labels, err)
		}
		if l := labels[0]; l.MessageID != in[0].ID || l.Intent != "shipping" || l.LabelledBy != "bob" || !l.CorrectsBot {
			t.Fatalf("first label = %+v", l)
		}
		if l := labels[2]; l.MessageID != reply.ID || l.Intent != "refund" {
			t.Fatalf("reply label = %+v", l)
		}
		texts, err := b.store.LabelledTexts(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []chatstore.LabelledText{{Text: "where is my parcel", Intent: "shipping"}, {Text: "also I want my money back", Intent: "complaint"}}
		if len(texts) != len(want) {
			t.Fatalf("LabelledTexts = %+v", texts)
		}
		for i := range want {
			if texts[i].Text != want[i].Text || texts[i].Intent != want[i].Intent {
				t.Fatalf("LabelledTexts[%d] = %+v, want %+v", i, texts[i], want[i])
			}
		}

		// Wrong conversation, unknown message, an event: refused.
		if _, err := b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: in[0].ID, ConversationKey: "order-8", Intent: "refund", LabelledBy: "alice", LabelledAt: at}); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("label through another conversation: %v", err)
		}
		if _, err := b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: 1 << 40, ConversationKey: "order-7", Intent: "refund", LabelledBy: "alice", LabelledAt: at}); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("label of a missing message: %v", err)
		}
		if err := b.db.Exec(`UPDATE chat_messages SET kind = 'order_created' WHERE id = ?`, in[1].ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: in[1].ID, ConversationKey: "order-7", Intent: "refund", LabelledBy: "alice", LabelledAt: at}); !errors.Is(err, chatcore.ErrNotLabellable) {
			t.Fatalf("label of an event: %v", err)
		}
	})
}

// A reply before any customer message has nothing to learn from.
func TestLabelReplyWithoutCustomerMessage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		chatstoretest.Relay(t, b.db, "c-1", "hi")
		if err := b.db.Exec(`UPDATE chat_messages SET kind = 'order_created' WHERE conversation_key = 'c-1'`).Error; err != nil {
			t.Fatal(err)
		}
		res, err := b.store.AppendReply(b.ctx, chatcore.Reply{ConversationKey: "c-1", Author: "alice", Body: "hello", ClientID: "x", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.LabelMessage(b.ctx, chatcore.Label{MessageID: res.Message.ID, ConversationKey: "c-1", Intent: "greeting", LabelledBy: "alice", LabelledAt: time.Now()}); !errors.Is(err, chatcore.ErrNotLabellable) {
			t.Fatalf("label of a reply to no customer message: %v", err)
		}
	})
}

func TestRetrainsAndAdmin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		if _, err := b.store.LastRetrain(b.ctx); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("LastRetrain before any: %v", err)
		}
		start := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.UTC)
		first := chatcore.Retrain{StartedAt: start, FinishedAt: start.Add(time.Second), RanBy: "ops@host", Command: "syncd bot retrain",
			ModelPath: "/var/lib/syncd/model.onnx", OldAccuracy: 0.91, NewAccuracy: 0.89, TrainSize: 1500, HeldOutSize: 460, LabelledSize: 40,
			Installed: false, Reason: "kept"}
		if _, err := b.store.RecordRetrain(b.ctx, first); err != nil {
			t.Fatal(err)
		}
		second := first
		second.NewAccuracy, second.Installed, second.Reason = 0.93, true, "installed"
		second.StartedAt = start.Add(time.Hour)
		id, err := b.store.RecordRetrain(b.ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.store.LastRetrain(b.ctx)
		second.ID = id
		second.FinishedAt = second.FinishedAt.UTC()
		if err != nil || got.ID != id || !got.Installed || got.NewAccuracy != 0.93 || got.OldAccuracy != 0.91 ||
			got.HeldOutSize != 460 || got.LabelledSize != 40 || got.TrainSize != 1500 || got.Reason != "installed" ||
			!got.StartedAt.Equal(second.StartedAt) || got.ModelPath != second.ModelPath || got.RanBy != "ops@host" {
			t.Fatalf("LastRetrain = %+v, %v; want %+v", got, err, second)
		}

		if err := b.store.CreateAgent(b.ctx, "carol", "$2a$10$abcdefghijklmnopqrstuv"); err != nil {
			t.Fatal(err)
		}
		a, _ := b.store.Agent(b.ctx, "carol")
		if a.Admin {
			t.Fatal("a new agent is admin")
		}
		if err := b.store.SetAgentAdmin(b.ctx, "carol", true); err != nil {
			t.Fatal(err)
		}
		if a2, _ := b.store.Agent(b.ctx, "carol"); !a2.Admin || a2.SessionVersion != a.SessionVersion {
			t.Fatalf("after grant: %+v (sessions must go on)", a2)
		}
		// The last admin cannot be revoked (TestAgentRolesKeepAnAdmin);
		// with another one, carol's can.
		if err := b.store.AddAgent(b.ctx, "dave", "$2a$10$abcdefghijklmnopqrstuv", true); err != nil {
			t.Fatal(err)
		}
		if err := b.store.SetAgentAdmin(b.ctx, "carol", false); err != nil {
			t.Fatal(err)
		}
		if a3, _ := b.store.Agent(b.ctx, "carol"); a3.Admin {
			t.Fatal("revoked admin still admin")
		}
		if err := b.store.SetAgentAdmin(b.ctx, "nobody", true); !errors.Is(err, chatcore.ErrNotFound) {
			t.Fatalf("admin of a missing agent: %v", err)
		}
	})
}
