package chatcore

import (
	"context"
	"errors"
	"time"
)

// ErrNotLabellable means a message cannot carry an intent label: it is
// neither a customer message nor an agent reply, or it is a reply that
// answers no customer message (there is no text to learn from).
var ErrNotLabellable = errors.New("message cannot be labelled")

// LabelStore is what the labelling API reads and writes.
type LabelStore interface {
	// LabelMessage gives one message of a conversation an intent, replacing
	// an earlier label of it. A message not in that conversation is
	// ErrNotFound; one that cannot be labelled is ErrNotLabellable.
	LabelMessage(ctx context.Context, l Label) (Label, error)
	// ConversationLabels returns the labels of a conversation's messages.
	ConversationLabels(ctx context.Context, key string) ([]Label, error)
	// LastRetrain returns the latest `syncd bot retrain`, or ErrNotFound.
	LastRetrain(ctx context.Context) (Retrain, error)
}

// Label is an agent's intent for a message. For an agent reply it is the
// intent of the customer message the reply answers.
type Label struct {
	MessageID       int64     `json:"message_id"`
	ConversationKey string    `json:"conversation_key"`
	Intent          string    `json:"intent"`
	LabelledBy      string    `json:"labelled_by"`
	LabelledAt      time.Time `json:"labelled_at"`
	// BotIntent is the bot's intent for the customer message ("" when the
	// bot gave none); CorrectsBot that the label differs from it.
	BotIntent   string `json:"bot_intent,omitempty"`
	CorrectsBot bool   `json:"corrects_bot"`
}

// Retrain is one run of `syncd bot retrain`, as bot_retrains records it.
type Retrain struct {
	ID           int64     `json:"id"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at"`
	RanBy        string    `json:"ran_by"`
	Command      string    `json:"command"`
	ModelPath    string    `json:"model_path"`
	OldAccuracy  float64   `json:"old_accuracy"` // the model in force, on the held-out part
	NewAccuracy  float64   `json:"new_accuracy"` // the retrained model, on the same part
	TrainSize    int       `json:"train_size"`
	HeldOutSize  int       `json:"heldout_size"`
	LabelledSize int       `json:"labelled_size"`
	Installed    bool      `json:"installed"`
	Reason       string    `json:"reason"`
}
