package bot

import "github.com/syncd-dev/syncd/bot/nn"

// OutOfScope is the label of the model's "none of these" class. `syncd bot
// train` adds it from background text (bot/model/background.csv unless
// --background names another file); a message the model puts there gets
// no reply and no suggestion, whatever the thresholds.
const OutOfScope = nn.OutOfScope

// Action is what the bot does with a classified customer message.
type Action int

const (
	// Silent: the conversation waits for an agent with nothing beside the
	// message. The model said out of scope, the intent has no reply, or
	// the confidence is below the suggestion floor.
	Silent Action = iota
	// Suggest: the reply is shown to agents beside the message.
	Suggest
	// AutoReply: the bot sends the reply to the customer itself.
	AutoReply
)

func (a Action) String() string {
	switch a {
	case Suggest:
		return "suggest"
	case AutoReply:
		return "auto-reply"
	default:
		return "silent"
	}
}

// Thresholds are the two confidences Decide compares with.
type Thresholds struct {
	// AutoReply: at or above it, an intent marked auto_reply is answered
	// by the bot. 1 turns auto-replies off: a confident model's float32
	// softmax rounds to exactly 1.
	AutoReply float64
	// Suggest is the floor: below it nothing is shown to agents, since a
	// guess the model is unsure of is noise beside the message.
	Suggest float64
}

// Decision is the outcome of Decide: what to do and the text to send or
// show ("" when Silent).
type Decision struct {
	Action Action
	// Reply is the answer in the default language; Answers.ReplyIn gives
	// it in the customer's.
	Reply string
	// Resolves: the AutoReply takes the conversation off the agents'
	// queue (the intent's answer says resolves: true, and it is no
	// hand-off). Any other auto-reply leaves the conversation waiting.
	Resolves bool
	// Handoff: the customer asks for a person (an intent marked handoff,
	// at or above the suggestion floor). The conversation keeps waiting,
	// flagged, until an agent replies; set even when Action is Silent.
	Handoff bool
}

// ReplyIn returns intent's answer in lang (see Language), or in the
// default language when there is none in lang.
func (a *Answers) ReplyIn(intent, lang string) string {
	return a.Intents[intent].Reply.In(lang, a.DefaultLanguage)
}

// Decide is the bot's one decision rule, used by Assess (the relay), by
// Suggestion (the console, when it shows a stored message) and by `syncd
// bot ask`:
//
//  1. out of scope, no intent, or an intent without a reply: Silent;
//  2. an auto_reply intent at or above th.AutoReply (below 1): AutoReply,
//     which Resolves when the answer says resolves: true;
//  3. below th.Suggest: Silent;
//  4. otherwise: Suggest.
//
// Apart from the action, a handoff intent at or above th.Suggest sets
// Handoff. The floor does not gate auto-replies, so a floor set above the
// auto-reply threshold only silences the intents agents answer.
func Decide(ans *Answers, intent string, confidence float64, th Thresholds) Decision {
	if intent == "" || intent == OutOfScope || ans == nil {
		return Decision{}
	}
	a := ans.Intents[intent]
	handoff := a.Handoff && confidence >= th.Suggest
	d := Decision{Reply: a.Reply.In(ans.DefaultLanguage, ans.DefaultLanguage), Handoff: handoff}
	switch {
	case d.Reply == "":
		return Decision{Handoff: handoff}
	case a.AutoReply && th.AutoReply < 1 && confidence >= th.AutoReply:
		d.Action = AutoReply
		d.Resolves = a.Resolves && !a.Handoff
	case confidence < th.Suggest:
		return Decision{}
	default:
		d.Action = Suggest
	}
	return d
}

// Decide applies the decision rule with the answers and thresholds in
// force.
func (s *Service) Decide(intent string, confidence float64) Decision {
	ans := s.answers.Load()
	return Decide(ans, intent, confidence, s.thresholds(ans))
}

// Thresholds are the auto-reply threshold and suggestion floor in force:
// Options' when set, else the answers file's.
func (s *Service) Thresholds() Thresholds { return s.thresholds(s.answers.Load()) }

func (s *Service) thresholds(a *Answers) Thresholds {
	th := Thresholds{AutoReply: a.Threshold, Suggest: a.SuggestThreshold}
	if s.opts.Threshold > 0 {
		th.AutoReply = s.opts.Threshold
	}
	if s.opts.SuggestThreshold > 0 {
		th.Suggest = s.opts.SuggestThreshold
	}
	return th
}
