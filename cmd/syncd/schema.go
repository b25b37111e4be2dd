package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	schema "github.com/syncd-dev/syncd/sql"
	"github.com/syncd-dev/syncd/store"
)

func schemaCommand() *cli.Command {
	dialectFlag := &cli.StringFlag{Name: "dialect", Usage: "mysql or sqlite (default: database.driver)"}
	return &cli.Command{
		Name:  "schema",
		Usage: "print, apply or check the database schema",
		Subcommands: []*cli.Command{
			{
				Name:  "print",
				Usage: "print the migrations for a DBA to review or apply by hand; each ends with the INSERT that records it, so the output can be run as is",
				Flags: []cli.Flag{dialectFlag},
				Action: func(c *cli.Context) error {
					dialect := c.String("dialect")
					if dialect == "" {
						cfg, _, err := loadConfig(c)
						if err != nil {
							return err
						}
						dialect = cfg.Database.Driver
					}
					script, err := schema.Script(dialect)
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
					st, err := openUnchecked(c)
					if err != nil {
						return err
					}
					defer st.Close()
					ran, err := st.ApplySchema(c.Context)
					for _, m := range ran {
						fmt.Fprintf(c.App.Writer, "applied %s\n", m.Name)
					}
					if err != nil {
						return err
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
					st, err := openUnchecked(c)
					if err != nil {
						return err
					}
					defer st.Close()
					states, err := schema.Status(c.Context, st.SQL(), st.Dialect())
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "MIGRATION\tSTATE\tAPPLIED AT")
					missing := false
					for _, s := range states {
						state, at := "applied", s.AppliedAt.Format(time.RFC3339)
						switch {
						case s.AppliedAt.IsZero():
							state, at, missing = "missing", "-", true
						case s.Modified:
							state, missing = "modified", true
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, state, at)
					}
					w.Flush()
					if missing {
						return cli.Exit("schema is not up to date: run `syncd schema apply`, or run the SQL that `syncd schema print` shows", 1)
					}
					return nil
				},
			},
		},
	}
}

// openUnchecked opens the database without checking or applying the
// schema: the schema commands are how it gets there.
func openUnchecked(c *cli.Context) (*store.Store, error) {
	cfg, _, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(c.Context, cfg.Database.Driver, cfg.Database.DSN, 2)
	return st, explainDB(err)
}
