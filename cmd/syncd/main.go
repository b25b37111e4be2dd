// Command syncd relays rows that legacy applications insert into
// message_sync into a live customer-service chat. `syncd run` with no
// configuration uses ./syncd.db (SQLite), in-process locks and a console
// on http://127.0.0.1:8080.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/config"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "syncd:", err)
		code := 1
		var ec cli.ExitCoder
		if errors.As(err, &ec) && ec.ExitCode() != 0 {
			code = ec.ExitCode() // 2: configuration
		}
		os.Exit(code)
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "syncd",
		Usage: "relay rows that legacy apps insert into message_sync into a live customer-service chat",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, EnvVars: []string{"SYNCD_CONFIG"},
				Usage: "YAML config file (see configs/syncd.example.yaml); every key can also be set as SYNCD_<SECTION>_<KEY>"},
		},
		Commands: []*cli.Command{
			runCommand(),
			schemaCommand(),
			statusCommand(),
			requeueCommand(),
			purgeCommand(),
			injectCommand(),
			agentCommand(),
			apikeyCommand(),
			botCommand(),
			benchCommand(),
			versionCommand(),
		},
		ExitErrHandler: func(c *cli.Context, err error) {},
		OnUsageError:   usageError,
	}
	withUsageErrors(app.Commands)
	return app
}

// loadConfig reads --config and the environment. A bad key is reported by
// name and ends the command with a non-zero status. SYNCD_* variables that
// are not settings are warned about on stderr (`syncd run` logs them).
func loadConfig(c *cli.Context) (config.Config, config.Source, error) {
	return readConfig(c, config.Load)
}

// readConfig is loadConfig with the loader to use (config.Parse skips the
// validation).
func readConfig(c *cli.Context, load func(string, []string) (config.Config, config.Source, error)) (config.Config, config.Source, error) {
	cfg, src, err := load(c.String("config"), os.Environ())
	if c.Command.Name != "run" {
		for _, u := range src.Unknown {
			fmt.Fprintln(c.App.ErrWriter, "syncd: warning:", u)
		}
	}
	if err != nil {
		return cfg, src, cli.Exit("invalid configuration: "+err.Error(), 2)
	}
	return cfg, src, nil
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level)))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	log := slog.New(h)
	// The MySQL driver's messages in the same format (see mysqllog.go).
	installMySQLLogger(log)
	return log
}
