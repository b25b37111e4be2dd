package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bot/featurize"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/train"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/configs"
)

// Paths of the shipped bot files, relative to the repository root.
const (
	shippedModel   = "bot/model/default.onnx"
	shippedAnswers = "configs/bot.yaml"
)

// botCommand trains, evaluates and queries the intent bot's model.
func botCommand() *cli.Command {
	modelFlag := &cli.StringFlag{Name: "model", Aliases: []string{"m"},
		Usage: "ONNX model file; default: bot.model from the configuration, else the built-in model (" + shippedModel + ")"}
	// No EnvVars: SYNCD_ONNXRUNTIME_LIB is read by the bot itself, after
	// bot.library, as in the daemon.
	libFlag := &cli.StringFlag{Name: "onnxruntime",
		Usage: "libonnxruntime.so; default: bot.library from the configuration, else $SYNCD_ONNXRUNTIME_LIB, else the cache that scripts/onnxruntime.sh fills"}
	return &cli.Command{
		Name:  "bot",
		Usage: "train, evaluate and query the intent bot",
		Subcommands: []*cli.Command{
			botTrainCommand(),
			botExportCommand(),
			botRetrainCommand(),
			{
				Name:  "eval",
				Usage: "print accuracy, per-intent figures, and what each confidence threshold does, on labelled data",
				Description: "For each threshold: the share of in-scope messages answered (an intent other than " + bot.OutOfScope + ",\n" +
					"at or above it), the share answered correctly, the precision of everything answered and, with\n" +
					"--oos, the share of out-of-scope messages answered (false accepts). Rows labelled " + bot.OutOfScope + "\n" +
					"in --data count as out of scope too.",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					modelFlag, libFlag,
					&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Required: true, Usage: "labelled CSV: a header naming the columns text and label"},
					&cli.StringSliceFlag{Name: "oos", Usage: "CSV of out-of-scope messages (a header naming a text column); may be repeated"},
					&cli.Float64Flag{Name: "target-precision", Usage: "also print the lowest threshold whose answers are at least this precise, e.g. 0.95"},
					&cli.BoolFlag{Name: "misclassified", Usage: "list the messages the model got wrong, and out-of-scope messages it answered at the auto-reply threshold"},
					&cli.IntFlag{Name: "top", Value: 10, Usage: "how many confused pairs to list"},
				},
				Action: botEval,
			},
			{
				Name:      "ask",
				Usage:     "print the intent, confidence and answer for a message",
				ArgsUsage: "TEXT...",
				Flags: []cli.Flag{
					modelFlag, libFlag,
					&cli.StringFlag{Name: "answers", Aliases: []string{"a"}, Usage: "answers YAML (intent → reply); default: bot.answers from the configuration, else " + shippedAnswers + " when present, else the copy built into syncd. bot.threshold applies either way"},
				},
				Action: botAsk,
			},
		},
	}
}

func botTrainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a model from CSV (a header naming the text and label columns) and write it as ONNX",
		Description: "The defaults are the best setting found on banking77 within the limits of a model\n" +
			"syncd ships (docs/benchmarks-bot.md); `make model` trains the built-in model with them.\n" +
			"The same data, settings and seed give the same model bytes. syncd's background text\n" +
			"(generic messages that are no shop's business) is added as the class " + bot.OutOfScope + ",\n" +
			"which the bot never answers; --background names your own, or none.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Required: true, Usage: "training CSV: a header row naming the columns text and label (either order), then one example per row"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: "model.onnx", Usage: "model file to write (atomically)"},
			&cli.StringFlag{Name: "background", Usage: "CSV (header naming a text column) of messages outside every intent, trained as " + bot.OutOfScope + `; "none": no such class; default: syncd's own (bot/model/background.csv, English and Chinese)`},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.IntFlag{Name: "dims", Usage: "feature vector size (a power of two); 0: " + fmt.Sprint(train.DefaultDims) + ", or less where the first layer would pass 4 MiB"},
			&cli.IntFlag{Name: "hidden", Usage: "hidden layer width per member; 0: the better of none and " + fmt.Sprint(train.DefaultMembers) + " members of " + fmt.Sprint(train.DefaultHidden) + " on a held-out tenth of the data; -1: none, a softmax regression"},
			&cli.IntFlag{Name: "members", Usage: "hidden layers trained on successive seeds and averaged (with a hidden layer); 0: " + fmt.Sprint(train.DefaultMembers)},
			&cli.IntFlag{Name: "epochs", Usage: "passes over the data; 0: 5 (hidden layer) or 10 (linear)"},
			&cli.IntFlag{Name: "batch-size", Value: train.DefaultBatchSize, Usage: "examples per step"},
			&cli.Float64Flag{Name: "lr", Usage: "Adam learning rate; 0: " + fmt.Sprint(train.DefaultLearningRate) + " (hidden layer) or 0.02 (linear)"},
			&cli.Float64Flag{Name: "weight-decay", Value: train.DefaultWeightDecay, Usage: "decoupled weight decay; 0: none"},
			&cli.Float64Flag{Name: "dropout", Value: train.DefaultDropout, Usage: "hidden-unit dropout while training (with a hidden layer); 0: none"},
			&cli.Float64Flag{Name: "label-smoothing", Usage: "share of each target spread over all classes"},
			&cli.BoolFlag{Name: "balanced", Usage: "weight classes by inverse frequency"},
			&cli.BoolFlag{Name: "no-idf", Usage: "do not scale training inputs by IDF"},
			&cli.BoolFlag{Name: "keep-greetings", Usage: "keep the greetings a message starts with (\"hi,\", \"你好，\") in its features"},
			&cli.IntFlag{Name: "word-max", Value: featurize.DefaultWordMax, Usage: "longest word n-gram"},
			&cli.IntFlag{Name: "char-min", Value: featurize.DefaultCharMin, Usage: "shortest character n-gram"},
			&cli.IntFlag{Name: "char-max", Value: featurize.DefaultCharMax, Usage: "longest character n-gram"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
		},
		Action: botTrain,
	}
}

// trainConfig maps the flags to a train.Config. The flags show the
// defaults, so a flag at its default gives the same model as no flag.
func trainConfig(c *cli.Context) train.Config {
	// 0 on the command line means "none" where the library reads 0 as
	// "the default".
	off := func(v float64) float64 {
		if v == 0 {
			return -1
		}
		return v
	}
	hidden := c.Int("hidden")
	return train.Config{
		Features: featurize.Config{
			Dims: c.Int("dims"), WordMin: 1, WordMax: c.Int("word-max"),
			CharMin: c.Int("char-min"), CharMax: c.Int("char-max"),
		},
		Hidden: hidden, Members: c.Int("members"), Epochs: c.Int("epochs"), BatchSize: c.Int("batch-size"),
		LearningRate: c.Float64("lr"), WeightDecay: off(c.Float64("weight-decay")), Dropout: off(c.Float64("dropout")),
		LabelSmoothing: c.Float64("label-smoothing"), Balanced: c.Bool("balanced"), NoIDF: c.Bool("no-idf"), KeepGreetings: c.Bool("keep-greetings"), Seed: c.Uint64("seed"),
	}
}

// readBackground reads --background: syncd's own text by default.
func readBackground(c *cli.Context) ([]string, string, error) {
	switch path := c.String("background"); path {
	case "none":
		return nil, "none", nil
	case "":
		texts, err := train.ReadTextsBytes(model.Background())
		return texts, "built-in", err
	default:
		texts, err := train.ReadTextsFile(path)
		return texts, path, err
	}
}

func botTrain(c *cli.Context) error {
	examples, err := train.ReadCSVFile(c.String("data"))
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	intents := len(train.Labels(examples))
	background, from, err := readBackground(c)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	all := train.AddBackground(examples, background)
	cfg := trainConfig(c)
	var bar *progressbar.ProgressBar
	if !c.Bool("quiet") {
		bar = progressbar.NewOptions(1,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(fmt.Sprintf("training on %d examples", len(all))),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		cfg.Progress = func(done, total int) {
			bar.ChangeMax(total)
			_ = bar.Set(done)
		}
	}
	start := time.Now()
	m, err := train.Train(c.Context, all, cfg)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if err := train.WriteModel(c.String("out"), m); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d intents from %d examples in %s, plus %d background texts (%s) as %s; %d features, hidden %d, %s\n",
		c.String("out"), intents, len(examples), c.String("data"), len(all)-len(examples), from, bot.OutOfScope,
		m.Features.Dims, m.Hidden(), time.Since(start).Round(time.Millisecond))
	return nil
}

func botEval(c *cli.Context) error {
	examples, err := train.ReadCSVFile(c.String("data"))
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	var oos []train.Example
	for _, path := range c.StringSlice("oos") {
		texts, err := train.ReadTextsFile(path)
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		for _, t := range texts {
			oos = append(oos, train.Example{Text: t, Label: bot.OutOfScope})
		}
	}
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	// The answers file only gives the thresholds here; a broken one does
	// not stop an evaluation of the model.
	if _, err := bot.LoadAnswers(cfg.Bot.Answers); cfg.Bot.Answers != "" && err != nil {
		cfg.Bot.Answers = ""
	}
	svc, err := openBotCLI(c, cfg.Bot)
	if err != nil {
		return err
	}
	defer svc.Close()
	all := append(slices.Clip(examples), oos...)
	scored, err := scoreExamples(c.Context, svc, all)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	w := c.App.Writer
	// Accuracy and the per-intent table are over the in-scope rows.
	var inScope []train.Example
	var predicted []string
	for i, e := range all {
		if e.Label != bot.OutOfScope {
			inScope = append(inScope, e)
			predicted = append(predicted, scored[i].Intent)
		}
	}
	if len(inScope) > 0 {
		if err := train.Evaluate(inScope, predicted).Write(w, c.Int("top")); err != nil {
			return err
		}
	}
	th := svc.Thresholds()
	marks := map[float64]string{th.Suggest: "<- suggestion floor", th.AutoReply: "<- auto-reply threshold"}
	if th.Suggest == th.AutoReply {
		marks[th.Suggest] = "<- suggestion floor and auto-reply threshold"
	}
	thresholds := []float64{0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, th.Suggest, th.AutoReply}
	slices.Sort(thresholds)
	fmt.Fprintf(w, "\n%d in-scope and %d out-of-scope messages; answered: an intent other than %s at or above the threshold\n",
		len(inScope), len(all)-len(inScope), bot.OutOfScope)
	if err := train.WriteSweep(w, train.Sweep(scored, slices.Compact(thresholds)), marks); err != nil {
		return err
	}
	if c.IsSet("target-precision") {
		p := c.Float64("target-precision")
		if row, ok := train.ThresholdFor(scored, p); ok {
			fmt.Fprintf(w, "\nprecision >= %.1f%% from threshold %.3f: %.1f%% of in-scope messages answered, %.1f%% correctly; %.1f%% of out-of-scope accepted\n",
				100*p, row.Threshold, 100*row.Answered, 100*row.Correct, 100*row.FalseAccepts)
		} else {
			fmt.Fprintf(w, "\nno threshold reaches precision %.1f%%\n", 100*p)
		}
	}
	if c.Bool("misclassified") {
		fmt.Fprintf(w, "\nmisclassified (true -> predicted confidence: text):\n")
		for _, s := range scored {
			wrong := s.Label != bot.OutOfScope && s.Intent != s.Label
			accepted := s.Label == bot.OutOfScope && s.Intent != bot.OutOfScope && s.Confidence >= th.AutoReply
			if wrong || accepted {
				fmt.Fprintf(w, "  %s -> %s %.3f: %s\n", s.Label, s.Intent, s.Confidence, s.Text)
			}
		}
	}
	return nil
}

// scoreExamples classifies the examples in batches the size of a relay
// batch: the path the relay takes.
func scoreExamples(ctx context.Context, svc *bot.Service, examples []train.Example) ([]train.Scored, error) {
	out := make([]train.Scored, 0, len(examples))
	for lo := 0; lo < len(examples); lo += 500 {
		batch := examples[lo:min(lo+500, len(examples))]
		texts := make([]string, len(batch))
		for i, e := range batch {
			texts[i] = e.Text
		}
		res, err := svc.Classify(ctx, texts)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			out = append(out, train.Scored{Text: batch[i].Text, Label: batch[i].Label, Intent: r.Intent, Confidence: r.Confidence})
		}
	}
	return out, nil
}

func botAsk(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.Exit("usage: syncd bot ask TEXT...", 2)
	}
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	switch {
	case c.IsSet("answers"):
		cfg.Bot.Answers = c.String("answers")
	case cfg.Bot.Answers != "": // bot.answers / SYNCD_BOT_ANSWERS, as the daemon reads it
	default:
		cfg.Bot.Answers = shippedAnswers
		if _, err := os.Stat(shippedAnswers); err != nil {
			cfg.Bot.Answers = "" // not in the repository root: the built-in copy
		}
	}
	svc, err := openBotCLI(c, cfg.Bot)
	if err != nil {
		return err
	}
	defer svc.Close()
	text := strings.Join(c.Args().Slice(), " ")
	res, err := svc.Classify(c.Context, []string{text})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	r := res[0]
	w := c.App.Writer
	th := svc.Thresholds()
	fmt.Fprintf(w, "intent:     %s\nconfidence: %.3f\n", r.Intent, r.Confidence)
	d := svc.Decide(r.Intent, r.Confidence)
	reply := svc.Answers().ReplyIn(r.Intent, svc.Answers().Language(text))
	switch {
	case d.Action == bot.AutoReply && d.Resolves:
		fmt.Fprintf(w, "answer:     %s\n            (sent automatically: confidence >= %.2f; resolves the conversation)\n", reply, th.AutoReply)
	case d.Action == bot.AutoReply:
		fmt.Fprintf(w, "answer:     %s\n            (sent automatically: confidence >= %.2f; the conversation still waits for an agent)\n", reply, th.AutoReply)
	case d.Action == bot.Suggest:
		fmt.Fprintf(w, "answer:     %s\n            (suggested to an agent)\n", reply)
	case r.Intent == bot.OutOfScope:
		fmt.Fprintln(w, "answer:     (none: out of scope, left to an agent)")
	case len(svc.Answers().Intents[r.Intent].Reply) == 0:
		fmt.Fprintln(w, "answer:     (none: the intent has no reply)")
	default:
		fmt.Fprintf(w, "answer:     (none: confidence below the suggestion floor %.2f)\n", th.Suggest)
	}
	if d.Handoff {
		fmt.Fprintln(w, "hand-off:   the customer asks for a person: the conversation waits, flagged, for an agent")
	}
	return nil
}

// openBotCLI starts a bot for one command: no file watching, no cache.
// cfg is the bot section of the configuration; --model and --onnxruntime,
// when given, override bot.model and bot.library. An empty answers path means the answers built into syncd.
func openBotCLI(c *cli.Context, cfg config.Bot) (*bot.Service, error) {
	if c.IsSet("model") {
		cfg.Model = c.String("model")
	}
	if c.IsSet("onnxruntime") {
		cfg.Library = c.String("onnxruntime")
	}
	svc, err := bot.New(c.Context, bot.Options{
		ModelPath:        cfg.Model,
		AnswersPath:      cfg.Answers,
		Answers:          configs.BotAnswers,
		Threshold:        cfg.Threshold,
		SuggestThreshold: cfg.SuggestThreshold,
		LibraryPath:      cfg.Library,
		CacheSize:        -1,
		PollInterval:     -1,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if errors.Is(err, bot.ErrNoRuntime) {
		return nil, cli.Exit(err.Error()+"\n"+botOffHint, 1)
	}
	if err != nil {
		return nil, cli.Exit(err.Error(), 1)
	}
	return svc, nil
}

const botOffHint = "fetch ONNX Runtime with `make onnxruntime` (scripts/onnxruntime.sh), or set SYNCD_ONNXRUNTIME_LIB to a libonnxruntime.so"

// newBotService builds the relay's intent bot from the bot section of the
// configuration. It returns (nil, nil) when the bot is disabled. When the
// ONNX Runtime library is missing it logs the one line that says the bot is
// off and how to turn it on, and returns (nil, nil) too: syncd runs on with
// bridge.NoBot. Other errors (a broken model or answers file) are returned.
// The caller runs svc.Run(ctx) in a goroutine it waits for, calls
// svc.Reload on SIGHUP and svc.Close at shutdown.
func newBotService(ctx context.Context, cfg config.Bot, answers []byte, log *slog.Logger) (*bot.Service, error) {
	if !cfg.Enabled {
		log.InfoContext(ctx, "intent bot off: bot.enabled is false")
		return nil, nil
	}
	svc, err := bot.New(ctx, botOptions(cfg, answers, log))
	if errors.Is(err, bot.ErrNoRuntime) {
		log.WarnContext(ctx, "intent bot off: ONNX Runtime not found; "+botOffHint, slog.Any("error", err))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("start intent bot: %w", err)
	}
	return svc, nil
}

// botOptions are the relay's bot.Options for the bot section of the
// configuration.
func botOptions(cfg config.Bot, answers []byte, log *slog.Logger) bot.Options {
	return bot.Options{
		ModelPath:        cfg.Model,
		AnswersPath:      cfg.Answers,
		Answers:          answers,
		Threshold:        cfg.Threshold,
		SuggestThreshold: cfg.SuggestThreshold,
		CacheSize:        cacheSize(cfg.CacheSize),
		LibraryPath:      cfg.Library,
		// One thread: a relay batch is small work, and ONNX Runtime's pool
		// of spinning threads would take the cores the database needs.
		IntraOpThreads: 1,
		Logger:         log.With(slog.String("component", "bot")),
	}
}

// The console asks the bot for suggestions (wire.go, startConsole).
var _ interface {
	Suggestion(string, float64, string) string
} = (*bot.Service)(nil)

// cacheSize maps bot.cache_size to bot.Options: 0 in the configuration
// turns the cache off, where bot.Options reads 0 as "the default".
func cacheSize(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
