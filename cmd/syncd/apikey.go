package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/ingest"
	"github.com/syncd-dev/syncd/store"
)

// apikeyCommand manages the keys of the HTTP ingest API. A key is printed
// once, by add, and stored only as its SHA-256.
func apikeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "apikey",
		Usage: "manage the API keys of the HTTP ingest API (POST /api/v1/messages, /api/v1/events)",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "make a key for a system that sends messages over HTTP; it is shown once",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					return withAPIKeys(c, true, func(st *store.Store, name string) error {
						key, hash, prefix, err := ingest.NewKey()
						if err != nil {
							return err
						}
						if _, err := st.AddAPIKey(c.Context, store.APIKey{Name: name, Hash: hash, Prefix: prefix, Scope: ingest.Scope}); err != nil {
							if errors.Is(err, store.ErrAPIKeyExists) {
								return cli.Exit(fmt.Sprintf("an API key named %s exists (revoked keys keep their names, which prefix their rows' source_ref): choose another name", name), 1)
							}
							return err
						}
						fmt.Fprintf(c.App.ErrWriter, "API key %s added (scope %s). It is shown once; store it now:\n", name, ingest.Scope)
						fmt.Fprintln(c.App.Writer, key)
						return nil
					})
				},
			},
			{
				Name:  "list",
				Usage: "list the keys (their first characters, never the keys)",
				Action: func(c *cli.Context) error {
					return withAPIKeys(c, false, func(st *store.Store, _ string) error {
						keys, err := st.APIKeys(c.Context)
						if err != nil {
							return err
						}
						w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
						fmt.Fprintln(w, "NAME\tKEY\tSCOPE\tSTATUS\tCREATED")
						for _, k := range keys {
							status := "active"
							if k.Revoked() {
								status = "revoked " + k.RevokedAt.UTC().Format("2006-01-02 15:04 MST")
							}
							fmt.Fprintf(w, "%s\t%s…\t%s\t%s\t%s\n", k.Name, k.Prefix, k.Scope, status, k.CreatedAt.UTC().Format("2006-01-02 15:04 MST"))
						}
						return w.Flush()
					})
				},
			},
			{
				Name:      "revoke",
				Usage:     "withdraw a key: every instance refuses it within ingest.key_cache",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					return withAPIKeys(c, true, func(st *store.Store, name string) error {
						was, err := st.RevokeAPIKey(c.Context, name)
						if errors.Is(err, store.ErrNoAPIKey) {
							return cli.Exit(fmt.Sprintf("no API key named %s (syncd apikey list)", name), 1)
						}
						if err != nil {
							return err
						}
						if was {
							fmt.Fprintf(c.App.Writer, "API key %s revoked\n", name)
						} else {
							fmt.Fprintf(c.App.Writer, "API key %s was revoked already\n", name)
						}
						return nil
					})
				},
			},
		},
	}
}

// withAPIKeys opens the store and runs fn with the NAME argument, which it
// checks when needed.
func withAPIKeys(c *cli.Context, needName bool, fn func(*store.Store, string) error) error {
	name := c.Args().First()
	if needName {
		if c.NArg() != 1 {
			return cli.Exit("usage: syncd apikey "+c.Command.Name+" NAME", 2)
		}
		if err := ingest.ValidName(name); err != nil {
			return cli.Exit(err.Error(), 2)
		}
	} else if c.NArg() != 0 {
		return cli.Exit("usage: syncd apikey "+c.Command.Name, 2)
	}
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	st, err := openStore(c.Context, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st, name)
}
