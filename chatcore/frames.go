package chatcore

import (
	"encoding/json"
	"fmt"

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

func messageFrames(msgs []Message) ([]*frame, error) {
	out := make([]*frame, 0, len(msgs))
	for _, m := range msgs {
		f, err := newFrame(messageFrame{Type: "message", Message: wireMessage(m)})
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func newConversationFrame(c Conversation) (*frame, error) {
	if c.LastMessage != nil {
		m := wireMessage(*c.LastMessage)
		c.LastMessage = &m
	}
	return newFrame(conversationFrame{Type: "conversation", Conversation: c})
}
