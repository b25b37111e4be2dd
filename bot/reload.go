package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/syncd-dev/syncd/bot/onnxrt"
)

// fileStamp identifies a version of a file well enough to notice a
// replacement: writers either rename a new file in place (new mtime) or
// rewrite it (new mtime or size).
type fileStamp struct {
	mod  time.Time
	size int64
}

func statFile(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// Reload reads the model and answers files again and swaps in what loads,
// whether or not they look changed; syncd calls it on SIGHUP. A file that
// does not load leaves its predecessor in force, and the error says why.
func (s *Service) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reload bot: %w", err)
	}
	mErr, aErr := s.reloadFiles(true)
	return errors.Join(mErr, aErr)
}

// poll reloads the files whose stamp changed since they were last tried.
func (s *Service) poll(ctx context.Context) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	mErr, aErr := s.reloadFiles(false)
	if mErr != nil {
		s.log.ErrorContext(ctx, "intent model reload failed; keeping the current model",
			slog.String("path", s.opts.ModelPath), slog.Any("error", mErr))
	}
	if aErr != nil {
		s.log.ErrorContext(ctx, "bot answers reload failed; keeping the current answers",
			slog.String("path", s.opts.AnswersPath), slog.Any("error", aErr))
	}
}

// reloadFiles loads the model and the answers (see loadModel for force)
// and counts each that failed. A closed Service is not a failure: both
// errors are nil then. The caller holds reloadMu.
func (s *Service) reloadFiles(force bool) (modelErr, answersErr error) {
	failed := func(err error) error {
		if err == nil || errors.Is(err, ErrClosed) {
			return nil
		}
		s.counters.reloadFailures.Add(1)
		return err
	}
	return failed(s.loadModel(force)), failed(s.loadAnswers(force))
}

// loadModel builds a classifier from the model file and swaps it in. Unless
// force is set it does nothing when the file's stamp is the one last tried,
// so a broken file is reported once, not at every poll. The caller holds
// reloadMu (or is New).
func (s *Service) loadModel(force bool) error {
	if s.isClosed() {
		return ErrClosed
	}
	if !force {
		if s.opts.ModelPath == "" {
			return nil // the built-in model never changes
		}
		st, err := statFile(s.opts.ModelPath)
		if err != nil || st == s.modelTried {
			// A missing file is usually a writer between unlink and
			// rename; the current model stays and the next poll looks
			// again.
			return nil
		}
	}
	data, source, st, err := s.readModel()
	if err != nil {
		return err
	}
	s.modelTried = st
	c, err := newClassifier(data, source, st, s.opts.CacheSize, onnxrt.SessionOptions{IntraOpThreads: s.opts.IntraOpThreads})
	if err != nil {
		return err
	}
	old := s.cur.Swap(c)
	if old == nil {
		return nil // first load, from New
	}
	s.log.Info("intent model reloaded", slog.String("model", source), slog.Int("intents", c.model.Classes()))
	s.checkCoverage(context.Background())
	// retire blocks until the Assess calls still using the old session
	// return; they finish on the old model, new calls already use the new.
	if err := old.retire(); err != nil {
		s.log.Warn("closing the previous intent model", slog.Any("error", err))
	}
	return nil
}

// loadAnswers parses the answers file (or Options.Answers) and swaps it in;
// force and stamps work as in loadModel.
func (s *Service) loadAnswers(force bool) error {
	if s.isClosed() {
		return ErrClosed
	}
	path := s.opts.AnswersPath
	if path == "" {
		if !force || s.answers.Load() != nil {
			return nil
		}
		a, err := ParseAnswers(s.opts.Answers)
		if err != nil {
			return fmt.Errorf("built-in answers: %w", err)
		}
		s.answers.Store(a)
		return nil
	}
	st, err := statFile(path)
	if err != nil {
		if !force {
			return nil
		}
		return fmt.Errorf("read answers: %w", err)
	}
	if !force && st == s.answersStamp {
		return nil
	}
	s.answersStamp = st
	a, err := LoadAnswers(path)
	if err != nil {
		return err
	}
	if s.answers.Swap(a) != nil {
		s.log.Info("bot answers reloaded", slog.String("path", path), slog.Int("intents", len(a.Intents)),
			slog.Float64("threshold", s.threshold(a)))
		s.checkCoverage(context.Background())
	}
	return nil
}

// checkCoverage warns, naming them, about the model's intents that have no
// answer (the bot labels those messages and never replies or suggests)
// and about answers for intents the model does not know (a typo in the
// answers file, or a model trained without them): both are silent
// otherwise. Answers with no intents at all have their own warning in New.
func (s *Service) checkCoverage(ctx context.Context) {
	c, a := s.cur.Load(), s.answers.Load()
	if c == nil || a == nil || len(a.Intents) == 0 {
		return
	}
	unanswered, unknown := coverage(c.model.Labels, a)
	if len(unanswered) > 0 {
		s.log.WarnContext(ctx, "intent bot: the model's intents without an answer are labelled but never answered or suggested; add them to the answers file",
			slog.String("model", c.source), slog.Any("intents", unanswered))
	}
	if len(unknown) > 0 {
		s.log.WarnContext(ctx, "intent bot: the answers file has intents the model does not know; they are never used",
			slog.String("model", c.source), slog.Any("intents", unknown))
	}
}

// coverage compares a model's labels with the answers: the labels with no
// reply (but OutOfScope, which never has one), and the answered intents
// that are not labels, both sorted.
func coverage(labels []string, a *Answers) (unanswered, unknown []string) {
	known := make(map[string]bool, len(labels))
	for _, l := range labels {
		known[l] = true
		if l != OutOfScope && len(a.Intents[l].Reply) == 0 {
			unanswered = append(unanswered, l)
		}
	}
	for intent := range a.Intents {
		if !known[intent] {
			unknown = append(unknown, intent)
		}
	}
	slices.Sort(unanswered)
	slices.Sort(unknown)
	return unanswered, unknown
}
