package chatcore

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// frame is one server-to-client text frame, encoded once and shared by
// every connection it is queued on.
type frame struct {
	pm   *websocket.PreparedMessage
	size int // payload bytes, what the send queue counts
}

func newFrame(v any) (*frame, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode frame: %w", err)
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		return nil, fmt.Errorf("prepare frame: %w", err)
	}
	return &frame{pm: pm, size: len(data)}, nil
}

// Frames of the WebSocket protocol (docs/protocol.md).
type (
	helloFrame struct {
		Type     string `json:"type"` // "hello"
		Username string `json:"username"`
		Instance string `json:"instance"`
	}
	messageFrame struct {
		Type    string  `json:"type"` // "message"
		Message Message `json:"message"`
	}
	conversationFrame struct {
		Type         string       `json:"type"` // "conversation"
		Conversation Conversation `json:"conversation"`
	}
)

var pongFrame = mustFrame(map[string]string{"type": "pong"})

func mustFrame(v any) *frame {
	f, err := newFrame(v)
	if err != nil {
		panic(err)
	}
	return f
}

// wireMessage makes m safe to encode: a payload that is not valid JSON (it
// comes from the legacy application) travels as a JSON string instead.
func wireMessage(m Message) Message {
	if len(m.Payload) > 0 && !json.Valid(m.Payload) {
		q, _ := json.Marshal(string(m.Payload))
		m.Payload = q
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m
}

// PreviewChars is how much of a message's body a preview keeps: a
// conversation's last message (chatstore cuts it in SQL), or a message too
// large for a socket's frame.
const PreviewChars = 200

// Preview returns m cut down to a size that does not depend on what a
// legacy application wrote: its body cut to PreviewChars characters (with
// "…"), no payload, suggestion or note. Truncated is set when anything was
// left out.
func Preview(m Message) Message {
	cut := m.Payload != nil || m.Suggestion != "" || m.Note != ""
	m.Payload, m.Suggestion, m.Note = nil, "", ""
	if utf8.RuneCountInString(m.Body) > PreviewChars {
		m.Body = string([]rune(m.Body)[:PreviewChars]) + "…"
		cut = true
	}
	m.Truncated = m.Truncated || cut
	return m
}

// messageFrames encodes one frame per message. A message whose frame would
// pass limit bytes is sent as its Preview (the console fetches it whole),
// so that no healthy socket is dropped as too slow for one large message.
// It returns the frames and the messages as framed.
func messageFrames(msgs []Message, limit int) ([]*frame, []Message, error) {
	out := make([]*frame, 0, len(msgs))
	sent := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		m = wireMessage(m)
		f, err := newFrame(messageFrame{Type: "message", Message: m})
		if err == nil && f.size > limit {
			m = Preview(m)
			f, err = newFrame(messageFrame{Type: "message", Message: m})
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, f)
		sent = append(sent, m)
	}
	return out, sent, nil
}

func newConversationFrame(c Conversation) (*frame, error) {
	if c.LastMessage != nil {
		m := wireMessage(*c.LastMessage)
		c.LastMessage = &m
	}
	return newFrame(conversationFrame{Type: "conversation", Conversation: c})
}
