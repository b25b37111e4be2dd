package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bot/featurize"
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
			{
				Name:      "eval",
				Usage:     "print accuracy, a per-intent table and the most confused intents on labelled data",
				ArgsUsage: " ",
				Flags: []cli.Flag{
					modelFlag, libFlag,
					&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Required: true, Usage: "CSV with a header row, then text,label"},
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
		Usage: "train a model from CSV (header row, then text,label) and write it as ONNX",
		Description: "The same data, settings and seed give the same model bytes. The defaults (a linear\n" +
			"model over 2^14 features) suit the relay's latency; for harder data such as banking77 use\n" +
			"--dims 32768 --hidden 128.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Required: true, Usage: "training CSV"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Value: shippedModel, Usage: "model file to write (atomically)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.IntFlag{Name: "dims", Value: 1 << 14, Usage: "feature vector size (a power of two)"},
			&cli.IntFlag{Name: "hidden", Usage: "hidden layer width; 0: softmax regression"},
			&cli.IntFlag{Name: "epochs", Usage: "passes over the data; 0: 10 (linear) or 5 (hidden layer)"},
			&cli.IntFlag{Name: "batch-size", Usage: "examples per step; 0: 64"},
			&cli.Float64Flag{Name: "lr", Usage: "Adam learning rate; 0: 0.02 (linear) or 0.003 (hidden layer)"},
			&cli.Float64Flag{Name: "weight-decay", Usage: "decoupled weight decay; 0: 1e-4"},
			&cli.Float64Flag{Name: "dropout", Usage: "hidden-unit dropout while training"},
			&cli.BoolFlag{Name: "balanced", Usage: "weight classes by inverse frequency"},
			&cli.BoolFlag{Name: "no-idf", Usage: "do not scale training inputs by IDF"},
			&cli.IntFlag{Name: "word-max", Value: featurize.DefaultWordMax, Usage: "longest word n-gram"},
			&cli.IntFlag{Name: "char-min", Value: featurize.DefaultCharMin, Usage: "shortest character n-gram"},
			&cli.IntFlag{Name: "char-max", Value: featurize.DefaultCharMax, Usage: "longest character n-gram"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
		},
		Action: botTrain,
	}
}

func botTrain(c *cli.Context) error {
	examples, err := train.ReadCSVFile(c.String("data"))
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	cfg := train.Config{
		Features: featurize.Config{
			Dims: c.Int("dims"), WordMin: 1, WordMax: c.Int("word-max"),
			CharMin: c.Int("char-min"), CharMax: c.Int("char-max"),
		},
		Hidden: c.Int("hidden"), Epochs: c.Int("epochs"), BatchSize: c.Int("batch-size"),
		LearningRate: c.Float64("lr"), WeightDecay: c.Float64("weight-decay"), Dropout: c.Float64("dropout"),
		Balanced: c.Bool("balanced"), NoIDF: c.Bool("no-idf"), Seed: c.Uint64("seed"),
	}
	var bar *progressbar.ProgressBar
	if !c.Bool("quiet") {
		bar = progressbar.NewOptions(1,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(fmt.Sprintf("training on %d examples", len(examples))),
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
	m, err := train.Train(c.Context, examples, cfg)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	if err := train.WriteModel(c.String("out"), m); err != nil {
		return cli.Exit(err.Error(), 1)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s: %d intents, %d features, hidden %d, %d examples in %s\n",
		c.String("out"), m.Classes(), m.Features.Dims, m.Hidden(), len(examples), time.Since(start).Round(time.Millisecond))
	return nil
}

func botEval(c *cli.Context) error {
	examples, err := train.ReadCSVFile(c.String("data"))
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	// Only the model matters here: no answers, so a broken answers file
	// does not stop an evaluation.
	cfg.Bot.Answers, cfg.Bot.Threshold = "", 0
	svc, err := openBotCLI(c, cfg.Bot)
	if err != nil {
		return err
	}
	defer svc.Close()
	texts := make([]string, len(examples))
	for i, e := range examples {
		texts[i] = e.Text
	}
	predicted := make([]string, 0, len(examples))
	// Batches the size of a relay batch: the path the relay takes, and a
	// bounded dense input.
	for lo := 0; lo < len(texts); lo += 500 {
		res, err := svc.Classify(c.Context, texts[lo:min(lo+500, len(texts))])
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		for _, r := range res {
			predicted = append(predicted, r.Intent)
		}
	}
	return train.Evaluate(examples, predicted).Write(c.App.Writer, c.Int("top"))
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
	a := svc.Answers().Intents[r.Intent]
	w := c.App.Writer
	fmt.Fprintf(w, "intent:     %s\nconfidence: %.3f\n", r.Intent, r.Confidence)
	switch {
	case a.Reply == "":
		fmt.Fprintln(w, "answer:     (none)")
	case a.AutoReply && r.Confidence >= svc.Threshold():
		fmt.Fprintf(w, "answer:     %s\n            (sent automatically: confidence >= %.2f)\n", a.Reply, svc.Threshold())
	default:
		fmt.Fprintf(w, "answer:     %s\n            (suggested to an agent)\n", a.Reply)
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
		ModelPath:    cfg.Model,
		AnswersPath:  cfg.Answers,
		Answers:      configs.BotAnswers,
		Threshold:    cfg.Threshold,
		LibraryPath:  cfg.Library,
		CacheSize:    -1,
		PollInterval: -1,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
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
	svc, err := bot.New(ctx, bot.Options{
		ModelPath:   cfg.Model,
		AnswersPath: cfg.Answers,
		Answers:     answers,
		Threshold:   cfg.Threshold,
		CacheSize:   cacheSize(cfg.CacheSize),
		LibraryPath: cfg.Library,
		// One thread: a relay batch is small work, and ONNX Runtime's pool
		// of spinning threads would take the cores the database needs.
		IntraOpThreads: 1,
		Logger:         log.With(slog.String("component", "bot")),
	})
	if errors.Is(err, bot.ErrNoRuntime) {
		log.WarnContext(ctx, "intent bot off: ONNX Runtime not found; "+botOffHint, slog.Any("error", err))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("start intent bot: %w", err)
	}
	return svc, nil
}

// The console asks the bot for suggestions (wire.go, startConsole).
var _ interface{ Suggestion(string, float64) string } = (*bot.Service)(nil)

// cacheSize maps bot.cache_size to bot.Options: 0 in the configuration
// turns the cache off, where bot.Options reads 0 as "the default".
func cacheSize(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
