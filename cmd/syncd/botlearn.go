package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/bot/learn"
	"github.com/syncd-dev/syncd/bot/model"
	"github.com/syncd-dev/syncd/bot/nn"
	"github.com/syncd-dev/syncd/bot/train"
	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatstore"
)

// botExportCommand and botRetrainCommand learn from the intents agents
// give messages in the console (chat_labels).
func botExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write the intents agents gave messages in the console as training CSV (text,label), the format `bot train --data` reads",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: `CSV file to write (atomically); "-": standard output`},
		},
		Action: botExport,
	}
}

func botRetrainCommand() *cli.Command {
	return &cli.Command{
		Name:  "retrain",
		Usage: "train on the shipped data plus the agents' labels, and install the new model only if it is not worse",
		Description: "Trains a linear model as `make model` does (`bot train --hidden -1`) on the shipped training data (or --data) plus the\n" +
			"labelled history (an agent's label wins over the shipped one for the same text), leaving\n" +
			"out a held-out part: a tenth of the labelled texts, chosen by a hash of the text so it is\n" +
			"the same in every run, and the shipped evaluation sets (or --eval), which no model trains on.\n" +
			"The model in force (bot.model, or --model) and the new one are scored on that part; the\n" +
			"new one replaces the file by an atomic rename, which a running syncd reloads without\n" +
			"dropping a message, only if its accuracy is not lower. Either way the figures are printed\n" +
			"and recorded in bot_retrains, where admins see them in the console.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "model file to compare with and replace; default: bot.model from the configuration (required: the built-in model cannot be replaced)"},
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "training CSV in place of the shipped data (bot/model/train.csv), for a model trained on your own"},
			&cli.StringFlag{Name: "eval", Usage: "labelled CSV no model trains on, in place of the shipped evaluation sets (bot/testdata/shop/eval_*.csv)"},
			&cli.StringFlag{Name: "background", Usage: `CSV of out-of-scope messages, as for bot train; "none": no such class; default: syncd's own`},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed, as for bot train"},
		},
		Action: botRetrain,
	}
}

// labelledExamples reads the labelled history from the database.
func labelledExamples(ctx context.Context, st *chatstore.DB) ([]train.Example, error) {
	texts, err := st.LabelledTexts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]train.Example, 0, len(texts))
	for _, t := range texts {
		// ReadCSV refuses empty fields; so does a trainer, sensibly.
		if text := strings.TrimSpace(t.Text); text != "" && t.Intent != "" {
			out = append(out, train.Example{Text: text, Label: t.Intent})
		}
	}
	return out, nil
}

func withChatStore(c *cli.Context, fn func(st *chatstore.DB) error) error {
	db, closeDB, err := openDatabase(c)
	if err != nil {
		return err
	}
	defer closeDB()
	st, err := chatstore.New(db)
	if err != nil {
		return err
	}
	return fn(st)
}

func botExport(c *cli.Context) error {
	return withChatStore(c, func(st *chatstore.DB) error {
		ex, err := labelledExamples(c.Context, st)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		_ = w.Write([]string{"text", "label"})
		for _, e := range ex {
			_ = w.Write([]string{e.Text, e.Label})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return fmt.Errorf("export labels: %w", err)
		}
		out := c.String("out")
		if out == "-" {
			_, err := c.App.Writer.Write(b.Bytes())
			return err
		}
		if err := writeFileAtomic(out, b.Bytes()); err != nil {
			return cli.Exit(fmt.Sprintf("export labels: %v", err), 1)
		}
		fmt.Fprintf(c.App.ErrWriter, "wrote %s: %d labelled messages\n", out, len(ex))
		return nil
	})
}

// writeFileAtomic writes data beside path and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// currentModel reads the model in force at path; a missing file means the
// built-in model, which the new one would replace there.
func currentModel(path string) (m *nn.Model, from string, builtin bool, err error) {
	b, err := os.ReadFile(path)
	from = path
	if errors.Is(err, fs.ErrNotExist) {
		b, from, builtin, err = model.Default(), "built-in (no "+path+" yet)", true, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("read current model: %w", err)
	}
	m, err = nn.UnmarshalONNX(b)
	if err != nil {
		return nil, "", false, fmt.Errorf("read current model %s: %w", from, err)
	}
	return m, from, builtin, nil
}

func readExamplesOr(path string, builtin func() ([]train.Example, error)) ([]train.Example, error) {
	if path != "" {
		return train.ReadCSVFile(path)
	}
	return builtin()
}

func botRetrain(c *cli.Context) error {
	started := time.Now().UTC()
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	path := cfg.Bot.Model
	if c.IsSet("model") {
		path = c.String("model")
	}
	if path == "" {
		return cli.Exit("bot.model is not set: retrain replaces the model file the bot watches, and the built-in model is not a file. "+
			"Set bot.model (SYNCD_BOT_MODEL) to a writable path, e.g. /var/lib/syncd/model.onnx, or give --model; the first retrain compares with the built-in model", 2)
	}
	current, from, builtin, err := currentModel(path)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	shipped, err := readExamplesOr(c.String("data"), func() ([]train.Example, error) {
		return train.ReadCSV(bytes.NewReader(model.Training()))
	})
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	eval, err := readExamplesOr(c.String("eval"), bot.ShippedEvaluation)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	background, _, err := readBackground(c)
	if err != nil {
		return cli.Exit(err.Error(), 1)
	}
	return withChatStore(c, func(st *chatstore.DB) error {
		labelled, err := labelledExamples(c.Context, st)
		if err != nil {
			return err
		}
		res, err := learn.Retrain(c.Context, learn.Input{
			Shipped: shipped, Evaluation: eval, Labelled: labelled, Background: background,
			// Linear, as `make model` trains the shipped model: on the shop's
			// data the hidden-layer ensemble is no better and costs the
			// relay several times the CPU per message (docs/benchmarks-bot.md).
			Current: current, Config: train.Config{Seed: c.Uint64("seed"), Hidden: -1},
		})
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		var installErr error
		if res.Install {
			if installErr = train.WriteModel(path, res.Model); installErr != nil {
				res.Install = false
				res.Reason = fmt.Sprintf("not installed: %v (the new model scored %.2f%%, the current one %.2f%%)",
					installErr, 100*res.NewAccuracy, 100*res.OldAccuracy)
			}
		} else if builtin {
			// No file yet and the built-in model stays: write it there, so
			// that bot.model can name the path the next retrain replaces.
			// The daemon's model does not change.
			if installErr = writeFileAtomic(path, model.Default()); installErr == nil {
				res.Reason += "; wrote the built-in model to " + path + " so that bot.model can name it"
			}
		}
		rec := chatcore.Retrain{
			StartedAt: started, FinishedAt: time.Now().UTC(), RanBy: ranBy(), Command: commandLine(c), ModelPath: path,
			OldAccuracy: res.OldAccuracy, NewAccuracy: res.NewAccuracy, TrainSize: res.TrainSize,
			HeldOutSize: res.HeldOutSize, LabelledSize: res.Labelled, Installed: res.Install, Reason: res.Reason,
		}
		// The record is written with a context of its own: an interrupted
		// run that replaced the model must still say so.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), 30*time.Second)
		defer cancel()
		if _, err := st.RecordRetrain(ctx, rec); err != nil {
			return errors.Join(installErr, err)
		}
		w := c.App.Writer
		fmt.Fprintf(w, "current model: %s\n", from)
		fmt.Fprintf(w, "trained on %d examples (%d labelled by agents in all); held out %d\n", res.TrainSize, res.Labelled, res.HeldOutSize)
		fmt.Fprintf(w, "held-out accuracy: current %.2f%%, new %.2f%%\n", 100*res.OldAccuracy, 100*res.NewAccuracy)
		fmt.Fprintln(w, res.Reason)
		if res.Install {
			fmt.Fprintf(w, "wrote %s; a running syncd reloads it within bot's poll interval\n", path)
		}
		if installErr != nil {
			return cli.Exit(installErr.Error(), 1)
		}
		return nil
	})
}

// ranBy names who ran a command: OS user at host.
func ranBy() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// commandLine is the command as typed, flags included, for the record.
func commandLine(c *cli.Context) string {
	var names []string
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil && ctx.Command.Name != "" {
			names = append([]string{ctx.Command.Name}, names...)
		}
	}
	parts := names
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if c.IsSet(name) {
			parts = append(parts, fmt.Sprintf("--%s=%v", name, c.Value(name)))
		}
	}
	return strings.Join(parts, " ")
}
