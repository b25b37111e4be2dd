package chatstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// Canned replies are saved, listed by shortcut, replaced and deleted; a
// shortcut is unique; a conversation's fields come from its customer's
// name and its latest payloads.
func TestCannedReplies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, b bundle) {
		at := time.Date(2026, 12, 3, 10, 0, 0, 123456000, time.UTC)
		save := func(r chatcore.CannedReply) (chatcore.CannedReply, error) {
			r.UpdatedBy, r.UpdatedAt = "alice", at
			return b.store.SaveCanned(b.ctx, r)
		}
		thanks, err := save(chatcore.CannedReply{Shortcut: "thanks", Title: "Thanks", Texts: map[string]string{"en": "Thank you, {{.customer_name}}!", "zh-CN": "谢谢您，{{.customer_name}}！"}})
		if err != nil {
			t.Fatal(err)
		}
		if thanks.ID == 0 || thanks.Texts["zh-CN"] != "谢谢您，{{.customer_name}}！" || !thanks.UpdatedAt.Equal(at) || thanks.UpdatedBy != "alice" {
			t.Fatalf("saved = %+v", thanks)
		}
		if _, err := save(chatcore.CannedReply{Shortcut: "address", Title: "Address", Texts: map[string]string{"en": "Ship to {{.address}}"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := save(chatcore.CannedReply{Shortcut: "thanks", Title: "Again", Texts: map[string]string{"en": "x"}}); !errors.Is(err, chatcore.ErrExists) {
			t.Errorf("a second /thanks: %v, want ErrExists", err)
		}
		list, err := b.store.CannedReplies(b.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Shortcut != "address" || list[1].Shortcut != "thanks" {
			t.Fatalf("list = %+v", list)
		}
		thanks.Title, thanks.Texts = "Thank the customer", map[string]string{"en": "Thanks!"}
		if got, err := save(thanks); err != nil || got.Title != "Thank the customer" || len(got.Texts) != 1 {
			t.Fatalf("replace: %+v, %v", got, err)
		}
		if _, err := save(chatcore.CannedReply{ID: thanks.ID, Shortcut: "address", Title: "x", Texts: map[string]string{"en": "x"}}); !errors.Is(err, chatcore.ErrExists) {
			t.Errorf("renaming /thanks to /address: %v, want ErrExists", err)
		}
		if _, err := save(chatcore.CannedReply{ID: 9999, Shortcut: "gone", Title: "x", Texts: map[string]string{"en": "x"}}); !errors.Is(err, chatcore.ErrNotFound) {
			t.Errorf("replace a missing reply: %v, want ErrNotFound", err)
		}
		if err := b.store.DeleteCanned(b.ctx, thanks.ID); err != nil {
			t.Fatal(err)
		}
		if err := b.store.DeleteCanned(b.ctx, thanks.ID); !errors.Is(err, chatcore.ErrNotFound) {
			t.Errorf("delete twice: %v, want ErrNotFound", err)
		}
		if _, err := b.store.CannedReply(b.ctx, thanks.ID); !errors.Is(err, chatcore.ErrNotFound) {
			t.Errorf("load a deleted reply: %v, want ErrNotFound", err)
		}

		chatstoretest.Relay(t, b.db, "order-5", "hello") // sender_name "customer"
		if err := b.db.Exec(`INSERT INTO message_sync (conversation_key, body, kind, payload, sender_name) VALUES
 ('order-5', 'Order created', 'order_created', '{"order_id": 12345678901234567, "address": "1 Old Road", "paid": true, "items": [1]}', NULL),
 ('order-5', 'Address changed', 'address_changed', '{"address": "2 New Street", "note": null}', NULL),
 ('order-5', 'Hi again', 'message', NULL, 'Mei Ling'),
 ('order-5', 'Anyone?', 'message', NULL, NULL)`).Error; err != nil {
			t.Fatal(err)
		}
		chatstoretest.Relay(t, b.db, "order-6", "flush") // its claim takes the rows above too
		fields, err := b.store.ConversationFields(b.ctx, "order-5")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"customer_name": "Mei Ling", "order_id": "12345678901234567", "address": "2 New Street", "paid": "true"}
		if len(fields) != len(want) {
			t.Errorf("fields = %v, want %v", fields, want)
		}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("fields[%s] = %q, want %q (all: %v)", k, fields[k], v, fields)
			}
		}
		if _, err := b.store.ConversationFields(b.ctx, "ORDER-5"); !errors.Is(err, chatcore.ErrNotFound) {
			t.Errorf("fields of another spelling: %v, want ErrNotFound", err)
		}
	})
}
