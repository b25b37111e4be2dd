package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/bench"
	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/configs"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:        "bench",
		Usage:       "measure relay throughput (see docs/benchmarks-relay.md)",
		Hidden:      true,
		Subcommands: []*cli.Command{benchRelayCommand()},
	}
}

func benchRelayCommand() *cli.Command {
	def := config.Default().Poller // the daemon's own settings, so the defaults measure what users run
	return &cli.Command{
		Name:  "relay",
		Usage: "relay a backlog with in-process syncd instances, then with hand-written claim loops and a naive poller, in a scratch database",
		Description: "Creates syncd_bench_<random> on the --dsn server (dropped at the end unless --keep), " +
			"inserts --rows pending rows, relays them with --instances pollers using Redis shard locks under a " +
			"random key prefix, checks that every row was relayed exactly once, then relays the same backlog " +
			"with the baselines (--baselines: a bare claim/ack loop and a claim loop with history, each with 1 and 3 " +
			"claimers), then, on MySQL/MariaDB, with one naive poller (per row, autocommitted statements) and " +
			"finally --naive-rows rows with --naive-instances naive pollers at once, counting double relays.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dsn", Value: bench.DefaultDSN, Usage: "MariaDB/MySQL server `DSN` (user@tcp(host:3306)/db) or PostgreSQL server (postgres://user@host:5432/db; the naive runs are MySQL's only); its database part is ignored"},
			&cli.StringFlag{Name: "redis", Value: bench.DefaultRedis, Usage: "Redis `address` for the shard locks"},
			&cli.IntFlag{Name: "rows", Value: 100000, Usage: "backlog size"},
			&cli.IntFlag{Name: "conversations", Value: 1000, Usage: "conversations the backlog is spread over"},
			&cli.IntFlag{Name: "batch", Value: def.BatchSize, Usage: "rows per claim"},
			&cli.IntFlag{Name: "shards", Value: def.Shards, Usage: "shard count (divides 1024)"},
			&cli.IntFlag{Name: "instances", Value: 3, Usage: "syncd instances"},
			&cli.IntFlag{Name: "workers", Value: def.Workers, Usage: "shards relayed at once per instance"},
			&cli.IntFlag{Name: "body-bytes", Value: 200, Usage: "length of every message body"},
			&cli.StringFlag{Name: "schedule", Value: def.Schedule, Usage: "poller schedule"},
			&cli.IntFlag{Name: "naive-instances", Value: 2, Usage: "naive pollers run at once in the double-relay step; 0 skips it"},
			&cli.IntFlag{Name: "naive-rows", Value: 5000, Usage: "backlog of the double-relay step"},
			&cli.IntFlag{Name: "expired-rows", Usage: "also seed this many sent rows processed 3 days ago (relay throughput with a large sent history)"},
			&cli.BoolFlag{Name: "purge", Usage: "with --expired-rows, run a retention pass (sent rows kept 24h) that deletes them while syncd relays"},
			&cli.BoolFlag{Name: "baselines", Value: true, Usage: "after syncd, relay the same backlog with the claim loops (bare and with history, 1 and 3 claimers); --baselines=false skips them"},
			&cli.BoolFlag{Name: "syncd-only", Usage: "skip the baseline and naive poller runs (for profiling syncd)"},
			&cli.BoolFlag{Name: "bot", Usage: "relay with the intent bot on (built-in model and answers; needs ONNX Runtime)"},
			&cli.Float64Flag{Name: "bot-threshold", Usage: "with --bot, the auto-reply confidence (bot.threshold); 0 keeps the answers file's, 1 turns auto-replies off so only suggestions are written"},
			&cli.DurationFlag{Name: "timeout", Value: bench.DefaultTimeout, Usage: "give up on a relay run after this long"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the scratch database"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the syncd run to `file`"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log the pollers at info level, not only warnings"},
		},
		Action: benchRelay,
	}
}

func benchRelay(c *cli.Context) error {
	level := slog.LevelWarn
	if c.Bool("verbose") {
		level = slog.LevelInfo
	}
	naive := c.Int("naive-instances")
	if naive == 0 {
		naive = -1 // the package's "skip"; its zero means the default
	}
	cfg := bench.Config{
		DSN:            c.String("dsn"),
		Redis:          c.String("redis"),
		Rows:           c.Int("rows"),
		Conversations:  c.Int("conversations"),
		BodyBytes:      c.Int("body-bytes"),
		Instances:      c.Int("instances"),
		BatchSize:      c.Int("batch"),
		Shards:         c.Int("shards"),
		Workers:        c.Int("workers"),
		Schedule:       c.String("schedule"),
		NaiveInstances: naive,
		NaiveRows:      c.Int("naive-rows"),
		SyncdOnly:      c.Bool("syncd-only"),
		NoBaselines:    !c.Bool("baselines"),
		ExpiredRows:    c.Int("expired-rows"),
		Purge:          c.Bool("purge"),
		Timeout:        c.Duration("timeout"),
		Keep:           c.Bool("keep"),
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Progress:       c.App.ErrWriter,
	}
	for _, name := range []string{"rows", "conversations", "body-bytes", "instances", "batch", "shards", "workers", "naive-rows"} {
		if c.Int(name) <= 0 {
			return cli.Exit(fmt.Sprintf("invalid flag: --%s must be positive", name), 2)
		}
	}
	if c.Bool("bot") {
		th := c.Float64("bot-threshold")
		if th < 0 || th > 1 {
			return cli.Exit("invalid flag: --bot-threshold must be between 0 and 1", 2)
		}
		bc := config.Default().Bot // the daemon's bot settings, cache included
		bc.Enabled, bc.Threshold = true, th
		svc, err := newBotService(c.Context, bc, configs.BotAnswers, cfg.Logger)
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		if svc == nil {
			return cli.Exit("--bot: the intent bot is off (see the log line above)", 1)
		}
		defer svc.Close()
		cfg.Bot = svc
	}
	if path := c.String("cpuprofile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return cli.Exit("create CPU profile: "+err.Error(), 1)
		}
		defer f.Close()
		cfg.CPUProfile = f
	}

	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		rep.WriteText(c.App.Writer)
		if cfg.Keep {
			fmt.Fprintf(c.App.Writer, "kept database %s\n", rep.Database)
		}
	}
	if err != nil {
		return cli.Exit("bench relay: "+err.Error(), 1)
	}
	return nil
}
