package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/onnxrt"
	"github.com/syncd-dev/syncd/bridge"
	"github.com/syncd-dev/syncd/chat"
)

var (
	// ErrNoRuntime means the ONNX Runtime library is missing or does not
	// load; New returns it wrapped. Run scripts/onnxruntime.sh (make
	// onnxruntime) or set SYNCD_ONNXRUNTIME_LIB to turn the bot on.
	ErrNoRuntime = onnxrt.ErrNoRuntime
	// ErrClosed is returned by calls on a closed Service.
	ErrClosed = errors.New("bot closed")
)

// Service is the intent bot. Create it with New, let Run watch the model and
// answers files, and Close it when done. Assess, Classify and Reload are
// safe for concurrent use.
type Service struct {
	opts Options
	log  *slog.Logger

	cur      atomic.Pointer[classifier] // nil once closed
	answers  atomic.Pointer[Answers]
	counters counters

	reloadMu     sync.Mutex // serialises reloads; guards the stamps
	modelTried   fileStamp  // the model file version last loaded or tried
	answersStamp fileStamp  // likewise for the answers file

	life    sync.Mutex // guards closed and running.Add
	closed  bool
	done    chan struct{}
	running sync.WaitGroup
}

var _ bridge.Bot = (*Service)(nil)

// New loads the ONNX Runtime library (once per process), the model and the
// answers. A missing library gives an error wrapping ErrNoRuntime; a model
// or answers file that does not load is an error too, since at start-up
// there is nothing older to keep.
func New(ctx context.Context, opts Options) (*Service, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	lib, err := onnxrt.LibraryPath(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	if err := onnxrt.Init(lib); err != nil {
		return nil, err
	}
	s := &Service{opts: opts, log: opts.Logger, done: make(chan struct{})}
	if err := s.loadAnswers(true); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start bot: %w", err)
	}
	if err := s.loadModel(true); err != nil {
		return nil, err
	}
	c := s.cur.Load()
	s.log.InfoContext(ctx, "intent bot on",
		slog.String("model", c.source), slog.Int("intents", c.model.Classes()),
		slog.Float64("threshold", s.Threshold()), slog.Float64("suggest_threshold", s.Thresholds().Suggest), slog.String("onnxruntime", lib))
	if len(opts.Answers) == 0 && opts.AnswersPath == "" {
		s.log.WarnContext(ctx, "intent bot has no answers file: it labels messages but never replies")
	}
	s.checkCoverage(ctx)
	return s, nil
}

// Assess classifies the customer messages of a relay batch in one batched
// inference and renders event templates; see bridge.Bot.
func (s *Service) Assess(ctx context.Context, in []bridge.Inbound) ([]bridge.Verdict, error) {
	out := make([]bridge.Verdict, len(in))
	ans := s.answers.Load()
	var texts []string
	var pos []int
	// An event is answered in the language of the conversation's customer:
	// their message in this batch, else the payload's "language" field,
	// else the default language.
	langOf := map[string]string{}
	for _, m := range in {
		if m.Kind == chat.KindMessage {
			langOf[m.ConversationKey] = ans.Language(m.Body)
		}
	}
	for i, m := range in {
		if m.Kind != chat.KindMessage {
			lang, ok := langOf[m.ConversationKey]
			if !ok {
				lang = payloadLanguage(m.Payload)
			}
			text, ok, err := ans.RenderEventIn(m.Kind, lang, m.Payload)
			if err != nil {
				// Agents see why with the event; the row keeps it in last_error.
				out[i].Note = "bot did not answer: " + err.Error()
				s.log.InfoContext(ctx, "event template gave no reply",
					slog.Int64("source_id", m.SourceID), slog.String("kind", m.Kind), slog.Any("reason", err))
			} else if ok {
				out[i].AutoReply = text
			}
			continue
		}
		if t := key(m.Body); t != "" {
			texts = append(texts, t)
			pos = append(pos, i)
		}
	}
	if len(texts) == 0 {
		return out, nil
	}
	res, err := s.classify(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("assess batch: %w", err)
	}
	th := s.thresholds(ans)
	for k, r := range res {
		v := &out[pos[k]]
		v.Intent, v.Confidence = r.Intent, r.Confidence
		d := Decide(ans, r.Intent, r.Confidence, th)
		v.Handoff = d.Handoff
		// One language per customer: the one their message is written in.
		reply := ans.ReplyIn(r.Intent, ans.Language(in[pos[k]].Body))
		switch d.Action {
		case AutoReply:
			v.AutoReply, v.Resolves = reply, d.Resolves
		case Suggest:
			v.Suggestion = reply
		}
	}
	return out, nil
}

// Suggestion is what agents see beside the customer message text the bot
// labelled intent with confidence: the intent's reply in the answers now in
// force, in the message's language, when Decide says Suggest, else "". The
// console asks for it when it reads history, rather than the relay storing
// the reply's text in every history row.
func (s *Service) Suggestion(intent string, confidence float64, text string) string {
	ans := s.answers.Load()
	if d := Decide(ans, intent, confidence, s.thresholds(ans)); d.Action == Suggest {
		return ans.ReplyIn(intent, ans.Language(text))
	}
	return ""
}

// payloadLanguage is an event payload's "language" field, or "".
func payloadLanguage(payload json.RawMessage) string {
	var p struct {
		Language any `json:"language"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return ""
	}
	l, _ := p.Language.(string)
	return l
}

// Classify returns the intent and confidence for each text; a text with
// nothing to classify (empty or only spaces) gets the zero Result, as in
// Assess.
func (s *Service) Classify(ctx context.Context, texts []string) ([]Result, error) {
	out := make([]Result, len(texts))
	var keys []string
	var pos []int
	for i, t := range texts {
		if k := key(t); k != "" {
			keys = append(keys, k)
			pos = append(pos, i)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	res, err := s.classify(ctx, keys)
	if err != nil {
		return nil, err
	}
	for k, i := range pos {
		out[i] = res[k]
	}
	return out, nil
}

// Answers returns the answers in force.
func (s *Service) Answers() *Answers { return s.answers.Load() }

// Threshold is the confidence in force for auto-replies.
func (s *Service) Threshold() float64 { return s.Thresholds().AutoReply }

func (s *Service) threshold(a *Answers) float64 { return s.thresholds(a).AutoReply }

func (s *Service) classify(ctx context.Context, texts []string) ([]Result, error) {
	// ONNX Runtime cannot be interrupted mid-run; a batch is milliseconds,
	// so checking before it starts is enough.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer c.release()
	res, hits, err := c.classify(texts)
	if err != nil {
		return nil, err
	}
	s.counters.classified.Add(int64(len(texts)))
	s.counters.cacheHits.Add(int64(hits))
	return res, nil
}

// acquire returns the current classifier, held for reading. A reload may
// retire the one just loaded before it is held; then the next is current.
func (s *Service) acquire() (*classifier, error) {
	for {
		c := s.cur.Load()
		if c == nil {
			return nil, ErrClosed
		}
		if c.acquire() {
			return c, nil
		}
	}
}

// Run watches the model and answers files every PollInterval and reloads
// what changed, until ctx is done or Close is called. It returns nil then.
func (s *Service) Run(ctx context.Context) error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return ErrClosed
	}
	s.running.Add(1)
	s.life.Unlock()
	defer s.running.Done()
	if s.opts.PollInterval < 0 {
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		return nil
	}
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.done:
			return nil
		case <-t.C:
			s.poll(ctx)
		}
	}
}

// Close stops Run, waits for it, and frees the model once the calls using
// it have returned. Later calls fail with ErrClosed. Close is idempotent.
func (s *Service) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.life.Unlock()
	s.running.Wait()
	s.reloadMu.Lock() // a Reload in flight must not install a model after this
	defer s.reloadMu.Unlock()
	if c := s.cur.Swap(nil); c != nil {
		return c.retire()
	}
	return nil
}

func (s *Service) isClosed() bool {
	s.life.Lock()
	defer s.life.Unlock()
	return s.closed
}

// readModel returns the model bytes and where they came from.
func (s *Service) readModel() ([]byte, string, fileStamp, error) {
	if s.opts.ModelPath == "" {
		return model.Default(), "built-in", fileStamp{}, nil
	}
	st, err := statFile(s.opts.ModelPath)
	if err != nil {
		return nil, s.opts.ModelPath, st, fmt.Errorf("read model: %w", err)
	}
	b, err := os.ReadFile(s.opts.ModelPath)
	if err != nil {
		return nil, s.opts.ModelPath, st, fmt.Errorf("read model: %w", err)
	}
	return b, s.opts.ModelPath, st, nil
}
