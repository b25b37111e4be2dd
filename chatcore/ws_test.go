package chatcore_test

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
)

func msg(key string, seq int64, body string) chat.Message {
	return chat.Message{ID: seq, ConversationKey: key, Seq: seq, SenderType: chat.SenderCustomer,
		Kind: chat.KindMessage, Body: body, CreatedAt: time.Now()}
}

func TestPublishReachesEverySocket(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	alice, bob := b.login(t, "alice"), b.login(t, "bob")
	a1, a2, b1 := alice.dial(), alice.dial(), bob.dial()
	eventually(t, 5*time.Second, "three sockets", func() bool { return b.core.Stats().Connections == 3 })

	if err := b.core.Publish(b.ctx, []chat.Message{msg("k", 1, "one"), msg("k", 2, "two")}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*wsClient{a1, a2, b1} {
		for _, want := range []int64{1, 2} {
			f := w.next(5 * time.Second)
			if m := f.message(t); f.Type != "message" || m.Seq != want || m.ConversationKey != "k" {
				t.Fatalf("frame %+v, want message seq %d", f, want)
			}
		}
	}
	// The JSON ping is answered.
	if err := a1.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if f := a1.next(5 * time.Second); f.Type != "pong" {
		t.Fatalf("answer to ping: %+v", f)
	}
	// A payload that is not JSON still goes out, as a string.
	bad := msg("k", 3, "three")
	bad.Payload = []byte("{oops")
	if err := b.core.Publish(b.ctx, []chat.Message{bad}); err != nil {
		t.Fatal(err)
	}
	if f := b1.next(5 * time.Second); !strings.Contains(string(f.Message), `"payload":"{oops"`) {
		t.Fatalf("bad payload frame: %s", f.Message)
	}
}

// A client that never reads is disconnected with 4008 and does not delay
// anybody else.
func TestSlowClientIsDisconnected(t *testing.T) {
	t.Parallel()
	const queue = 64 << 10
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.SendQueueBytes = queue }})
	fast := b.login(t, "fast").dial()
	// The slow client never reads until the end. A small receive buffer
	// keeps the kernel from absorbing megabytes before the queue fills.
	slow := b.login(t, "slow").dialWith(&websocket.Dialer{NetDial: smallBufferDial})
	eventually(t, 5*time.Second, "two sockets", func() bool { return b.core.Stats().Connections == 2 })

	body := strings.Repeat("x", 1000)
	const batches, perBatch = 150, 10 // 1.5 MB in all
	sent := make(map[int64]time.Time, batches*perBatch)
	var lat []time.Duration
	seq := int64(0)
	droppedAt := -1
	for i := range batches {
		batch := make([]chat.Message, perBatch)
		for j := range batch {
			seq++
			batch[j] = msg("k", seq, body)
		}
		at := time.Now()
		for _, m := range batch {
			sent[m.Seq] = at
		}
		if err := b.core.Publish(b.ctx, batch); err != nil {
			t.Fatal(err)
		}
		// The fast client reads as it goes, like a browser.
		for range perBatch {
			f := fast.next(5 * time.Second)
			m := f.message(t)
			lat = append(lat, f.at.Sub(sent[m.Seq]))
		}
		if droppedAt < 0 && b.core.Stats().SlowClosed > 0 {
			droppedAt = i
		}
	}
	eventually(t, 5*time.Second, "slow client dropped", func() bool { return b.core.Stats().SlowClosed == 1 })
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	t.Logf("slow client dropped after %d of %d batches; fast client: %d messages, p50 %v, p99 %v, max %v",
		droppedAt+1, batches, len(lat), lat[len(lat)/2], p99, lat[len(lat)-1])
	if p99 > time.Second {
		t.Errorf("fast client p99 %v: held up by the slow one", p99)
	}
	// The slow client's connection ends; if a close frame got through the
	// full socket buffers, it says 4008.
	code := slow.closeCode(10 * time.Second)
	t.Logf("slow client saw close code %d", code)
	if code != chatcore.CloseTooSlow && code != websocket.CloseAbnormalClosure {
		t.Fatalf("slow client closed with %d", code)
	}
	eventually(t, 5*time.Second, "one socket left", func() bool { return b.core.Stats().Connections == 1 })
}

// When a burst overflows the queue before the writer could send it, the
// close frame is what the client reads: 4008.
func TestSlowClientGetsCloseCode(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.SendQueueBytes = 16 << 10 }})
	w := b.login(t, "alice").dial()
	eventually(t, 5*time.Second, "socket", func() bool { return b.core.Stats().Connections == 1 })
	var batch []chat.Message
	for i := range 64 {
		batch = append(batch, msg("k", int64(i+1), strings.Repeat("y", 1000)))
	}
	if err := b.core.Publish(b.ctx, batch); err != nil { // 64 KB at once into a 16 KB queue
		t.Fatal(err)
	}
	if code := w.closeCode(5 * time.Second); code != chatcore.CloseTooSlow {
		t.Fatalf("closed with %d, want 4008", code)
	}
}

func TestShutdownCloses1001(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	w := b.login(t, "alice").dial()
	eventually(t, 5*time.Second, "socket", func() bool { return b.core.Stats().Connections == 1 })
	closed := make(chan error, 1)
	go func() { closed <- b.core.Close() }()
	if code := w.closeCode(5 * time.Second); code != websocket.CloseGoingAway {
		t.Fatalf("closed with %d, want 1001", code)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := b.core.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
	// New sockets are refused after shutdown.
	ws, _, err := websocketDial(b, b.login(t, "bob"))
	if err == nil {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err = ws.ReadMessage()
		ws.Close()
		if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("socket after shutdown: %v", err)
		}
	}
}

// A client that stops answering pings is dropped after two intervals; one
// that answers stays. The interval is long enough (a pong may be a second
// late) that a live reader descheduled under -race on a loaded machine is
// not mistaken for a dead one.
func TestDeadClientDropped(t *testing.T) {
	t.Parallel()
	const interval = 500 * time.Millisecond
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.PingInterval = interval }})
	alice := b.login(t, "alice")
	live := alice.dial() // reads, so it answers pings
	dead, _, err := websocketDial(b, alice)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close() // never reads, so never answers a ping
	eventually(t, 5*time.Second, "two sockets", func() bool { return b.core.Stats().Connections == 2 })
	eventually(t, 10*time.Second, "dead socket dropped", func() bool { return b.core.Stats().Connections == 1 })
	// The server closed the dead one: reading it now ends in an error, not
	// in a read deadline on an open socket.
	dead.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := dead.ReadMessage()
		if err == nil {
			continue // frames sent before the drop
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the dropped socket is still open")
		}
		break
	}
	time.Sleep(4 * interval) // several pings: the live one stays
	select {
	case <-live.done:
		t.Fatal("the live socket was closed")
	default:
	}
	if n := b.core.Stats().Connections; n != 1 {
		t.Fatalf("%d sockets after the pings, want the live one", n)
	}
}

// smallBufferDial connects with a 4 KiB socket receive buffer.
func smallBufferDial(network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	return d.Dial(network, addr)
}

func websocketDial(b *bundle, c *client) (*websocket.Conn, string, error) {
	ws, res, err := websocket.DefaultDialer.Dial(b.wsURL(), map[string][]string{"Cookie": {c.cookieHeader()}})
	status := ""
	if res != nil {
		status = fmt.Sprint(res.StatusCode)
	}
	return ws, status, err
}

// A frame over the read limit ends the connection with 1009.
func TestReadLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{mutate: func(o *chatcore.Options) { o.MaxFrameBytes = 1024 }})
	w := b.login(t, "alice").dial()
	big := `{"type":"ping","pad":"` + strings.Repeat("x", 2048) + `"}`
	if err := w.ws.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	if code := w.closeCode(5 * time.Second); code != websocket.CloseMessageTooBig {
		t.Fatalf("closed with %d, want 1009", code)
	}
	eventually(t, 5*time.Second, "socket gone", func() bool { return b.core.Stats().Connections == 0 })
}
