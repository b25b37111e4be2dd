package chatcore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/broker"
	"github.com/syncd-dev/syncd/chatstore/chatstoretest"
)

// sizeBroker is a broker.Memory that records the size of every event.
type sizeBroker struct {
	*broker.Memory
	mu    sync.Mutex
	sizes []int
}

func (s *sizeBroker) Publish(ctx context.Context, p []byte) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(p))
	s.mu.Unlock()
	return s.Memory.Publish(ctx, p)
}

// Nothing a row carries makes a frame or an event larger than a healthy
// socket can take: a message too large for a frame goes out as its
// preview (truncated, no payload), which the console then fetches whole,
// and a batch's messages go to the broker in events of bounded size.
func TestLargeMessagesKeepSocketsOpen(t *testing.T) {
	t.Parallel()
	const queue = 64 << 10
	broker := &sizeBroker{Memory: broker.NewMemory()}
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.SendQueueBytes = queue; o.Broker = broker }})
	ws := b.login(t, "alice").dial()
	eventually(t, 5*time.Second, "a socket", func() bool { return b.core.Stats().Connections == 1 })

	payload, _ := json.Marshal(map[string]string{"blob": strings.Repeat("\x01", 40<<10)}) // 6 bytes a character once escaped
	var batch []chat.Message
	for i := range 20 {
		m := msg("k", int64(i+1), strings.Repeat("ü", 30<<10))
		if i%2 == 0 {
			m.Body = fmt.Sprintf("small %d", i)
		}
		m.Kind, m.SenderType, m.Payload = "order_created", chat.SenderSystem, payload
		batch = append(batch, m)
	}
	if err := b.core.Publish(b.ctx, batch); err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		f := ws.next(5 * time.Second)
		if len(f.Message) > queue/4 {
			t.Fatalf("frame %d carries a %d-byte message, over a quarter of the send queue", i, len(f.Message))
		}
		var m struct {
			Seq       int64           `json:"seq"`
			Body      string          `json:"body"`
			Payload   json.RawMessage `json:"payload"`
			Truncated bool            `json:"truncated"`
		}
		if err := json.Unmarshal(f.Message, &m); err != nil {
			t.Fatal(err)
		}
		if m.Seq != int64(i+1) || !m.Truncated || len(m.Payload) != 0 {
			t.Fatalf("frame %d: seq %d, truncated %v, %d payload bytes; want the preview of seq %d", i, m.Seq, m.Truncated, len(m.Payload), i+1)
		}
	}
	if s := b.core.Stats().SlowClosed; s != 0 {
		t.Fatalf("%d sockets closed as too slow", s)
	}
	broker.mu.Lock()
	defer broker.mu.Unlock()
	for _, n := range broker.sizes {
		if n > 1<<20+64<<10 {
			t.Errorf("an event of %d bytes went to the broker", n)
		}
	}
}

// The conversation list carries a preview of each last message, not the
// message: its size does not grow with what the row held.
func TestConversationListCarriesPreviews(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	for i := range 2 {
		chatstoretest.Relay(t, b.db, fmt.Sprintf("order-%d", i), strings.Repeat("long text ", 6000))
	}
	alice := b.login(t, "alice")
	res := alice.do("GET", "/api/conversations", nil, nil)
	if res.status != 200 {
		t.Fatalf("list: %d %s", res.status, res.body)
	}
	if len(res.body) > 4<<10 {
		t.Fatalf("the list of two conversations is %d bytes", len(res.body))
	}
	var list listAnswer
	res.decode(t, &list)
	if len(list.Conversations) != 2 || list.Conversations[0].LastMessage == nil {
		t.Fatalf("list: %+v", list)
	}
	// The whole message is one request away.
	res = alice.do("GET", "/api/conversations/"+url.PathEscape("order-0")+"/messages", nil, nil)
	var page messagesAnswer
	res.decode(t, &page)
	if len(page.Messages) != 1 || len(page.Messages[0].Body) != 60000 {
		t.Fatalf("messages: %d", len(page.Messages))
	}
}
