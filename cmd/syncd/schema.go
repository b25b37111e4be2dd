package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/config"
	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

func schemaCommand() *cli.Command {
	dialectFlag := &cli.StringFlag{Name: "dialect", Usage: "mysql (MySQL, MariaDB), postgres or sqlite; default: database.driver of the configuration given"}
	return &cli.Command{
		Name:  "schema",
		Usage: "print, apply or check the database schema",
		Subcommands: []*cli.Command{
			{
				Name:  "print",
				Usage: "print the migrations for a DBA to review or apply by hand; each ends with the INSERT that records it, so the output can be run as is",
				Flags: []cli.Flag{dialectFlag, &cli.IntFlag{Name: "from", Usage: "print only the migrations numbered `N` and later (those `syncd schema status` lists as missing)"}},
				Action: func(c *cli.Context) error {
					dialect, err := printDialect(c)
					if err != nil {
						return err
					}
					script, err := schema.ScriptFrom(dialect, c.Int("from"))
					if err != nil {
						return err
					}
					_, err = fmt.Fprint(c.App.Writer, script)
					return err
				},
			},
			{
				Name:  "apply",
				Usage: "apply the migrations the database lacks",
				Action: func(c *cli.Context) error {
					st, err := openUnchecked(c, true)
					if err != nil {
						return err
					}
					defer st.Close()
					ran, err := st.ApplySchema(c.Context)
					for _, m := range ran {
						fmt.Fprintf(c.App.Writer, "applied %s\n", m.Name)
					}
					if err != nil {
						return explainDB(err)
					}
					if len(ran) == 0 {
						fmt.Fprintln(c.App.Writer, "schema is up to date")
					}
					return nil
				},
			},
			{
				Name:  "status",
				Usage: "list migrations and whether each is applied; exits 1 when any is missing",
				Action: func(c *cli.Context) error {
					st, err := openUnchecked(c, false)
					if err != nil {
						return err
					}
					defer st.Close()
					states, err := schema.Status(c.Context, st.SQL(), st.Dialect())
					if err != nil {
						return explainDB(err)
					}
					w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "MIGRATION\tSTATE\tAPPLIED AT")
					var missing, modified []string
					firstMissing := 0
					for _, s := range states {
						state, at := "applied", s.AppliedAt.Format(time.RFC3339)
						switch {
						case s.AppliedAt.IsZero():
							state, at = "missing", "-"
							if len(missing) == 0 {
								firstMissing = s.Version
							}
							missing = append(missing, s.Name)
						case s.Modified:
							state = "modified"
							modified = append(modified, schema.ModifiedHint(st.Dialect(), s))
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, state, at)
					}
					w.Flush()
					// A modified migration comes first: apply refuses to
					// run anything while one is there.
					if len(modified) > 0 {
						return cli.Exit("schema is not up to date: "+strings.Join(modified, "\n"), 1)
					}
					if len(missing) > 0 {
						return cli.Exit(fmt.Sprintf("schema is not up to date: %s missing; run `syncd schema apply`, or run the SQL that `syncd schema print --dialect %s --from %d` shows",
							strings.Join(missing, ", "), st.Dialect(), firstMissing), 1)
					}
					return nil
				},
			},
		},
	}
}

// printDialect is --dialect, else the configured database.driver. With
// neither there is no right answer (the embedded default's SQLite is the
// wrong one for `| mysql`), so it asks; printing needs no DSN.
func printDialect(c *cli.Context) (string, error) {
	dialect, from := c.String("dialect"), "--dialect"
	if dialect == "" {
		cfg, src, err := readConfig(c, config.Parse)
		if err != nil {
			return "", err
		}
		if src.File == "" && !slices.Contains(src.EnvKeys, config.EnvName("database.driver")) {
			return "", cli.Exit("schema print: say which database the SQL is for: --dialect mysql (MySQL, MariaDB), --dialect postgres or --dialect sqlite, "+
				"or give the configuration (--config, SYNCD_DATABASE_DRIVER)", 2)
		}
		dialect, from = cfg.Database.Driver, "database.driver (env SYNCD_DATABASE_DRIVER)"
	}
	if dialect != schema.MySQL && dialect != schema.Postgres && dialect != schema.SQLite {
		return "", cli.Exit(fmt.Sprintf("schema print: %s must be mysql, postgres or sqlite, not %q", from, dialect), 2)
	}
	return dialect, nil
}

// openUnchecked opens the database without checking or applying the
// schema: the schema commands are how it gets there. Only apply (create)
// may create a SQLite file that is not there.
func openUnchecked(c *cli.Context, create bool) (*store.Store, error) {
	cfg, _, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	if !create {
		if err := sqliteExists(cfg); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(c.Context, cfg.Database.Driver, cfg.Database.DSN, 2)
	return st, explainDB(err)
}
