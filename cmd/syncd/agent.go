package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/syncd-dev/syncd/chatcore"
	"github.com/syncd-dev/syncd/chatcore/credentials"
	"github.com/syncd-dev/syncd/chatstore"
)

// agentCommand manages the console's agents. Passwords never appear in
// argv: they are typed at a prompt, or read from stdin with
// --password-stdin (`printf '%s\n' "$PW" | syncd agent add alice --password-stdin`).
func agentCommand() *cli.Command {
	pwFlag := &cli.BoolFlag{Name: "password-stdin", Usage: "read the password from the first line of stdin instead of prompting"}
	return &cli.Command{
		Name:  "agent",
		Usage: "manage the agents who log in to the console",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "create an agent (--admin: one who manages agents in the console)",
				ArgsUsage: "USERNAME",
				Flags:     []cli.Flag{pwFlag, &cli.BoolFlag{Name: "admin", Usage: "make the agent an admin"}},
				Action: func(c *cli.Context) error {
					return withAgents(c, true, func(st *chatstore.DB, name string) error {
						hash, err := newPasswordHash(c)
						if err != nil {
							return err
						}
						admin := c.Bool("admin")
						if err := st.AddAgent(c.Context, name, hash, admin); err != nil {
							if errors.Is(err, chatcore.ErrExists) {
								return cli.Exit(fmt.Sprintf("agent %s exists already; use `syncd agent passwd %s` to set a new password", name, name), 1)
							}
							return err
						}
						if admin {
							fmt.Fprintf(c.App.Writer, "agent %s added, an admin\n", name)
						} else {
							fmt.Fprintf(c.App.Writer, "agent %s added\n", name)
						}
						return nil
					})
				},
			},
			{
				Name:  "list",
				Usage: "list agents",
				Action: func(c *cli.Context) error {
					return withAgents(c, false, func(st *chatstore.DB, _ string) error {
						as, err := st.ListAgents(c.Context)
						if err != nil {
							return err
						}
						w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
						fmt.Fprintln(w, "USERNAME\tSTATUS\tCREATED")
						for _, a := range as {
							status := "active"
							if a.Disabled {
								status = "disabled"
							}
							if a.Admin {
								status += ", admin"
							}
							fmt.Fprintf(w, "%s\t%s\t%s\n", a.Username, status, a.CreatedAt.UTC().Format("2006-01-02 15:04 MST"))
						}
						return w.Flush()
					})
				},
			},
			{
				Name:      "disable",
				Usage:     "stop an agent from logging in, and end the agent's sessions at once",
				ArgsUsage: "USERNAME",
				Action:    setDisabled(true),
			},
			{
				Name:      "enable",
				Usage:     "let a disabled agent log in again",
				ArgsUsage: "USERNAME",
				Action:    setDisabled(false),
			},
			{
				Name:      "admin",
				Usage:     "make an agent an admin: manages agents and sees the bot's retrain figures in the console (--revoke: no longer)",
				ArgsUsage: "USERNAME",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "revoke", Usage: "take admin away"}},
				Action: func(c *cli.Context) error {
					return withAgents(c, true, func(st *chatstore.DB, name string) error {
						admin := !c.Bool("revoke")
						if err := st.SetAgentAdmin(c.Context, name, admin); err != nil {
							return notFound(err, name)
						}
						if admin {
							fmt.Fprintf(c.App.Writer, "agent %s is an admin\n", name)
						} else {
							fmt.Fprintf(c.App.Writer, "agent %s is no longer an admin\n", name)
						}
						return nil
					})
				},
			},
			{
				Name:      "passwd",
				Usage:     "set an agent's password, ending the agent's sessions",
				ArgsUsage: "USERNAME",
				Flags:     []cli.Flag{pwFlag},
				Action: func(c *cli.Context) error {
					return withAgents(c, true, func(st *chatstore.DB, name string) error {
						if _, err := st.Agent(c.Context, name); err != nil {
							return notFound(err, name)
						}
						hash, err := newPasswordHash(c)
						if err != nil {
							return err
						}
						if err := st.SetAgentPassword(c.Context, name, hash); err != nil {
							return notFound(err, name)
						}
						fmt.Fprintf(c.App.Writer, "password of %s changed; the agent's sessions have ended\n", name)
						return nil
					})
				},
			},
		},
	}
}

func setDisabled(disabled bool) cli.ActionFunc {
	return func(c *cli.Context) error {
		return withAgents(c, true, func(st *chatstore.DB, name string) error {
			if err := st.SetAgentDisabled(c.Context, name, disabled); err != nil {
				return notFound(err, name)
			}
			if disabled {
				fmt.Fprintf(c.App.Writer, "agent %s disabled; the agent's sessions have ended\n", name)
			} else {
				fmt.Fprintf(c.App.Writer, "agent %s enabled\n", name)
			}
			return nil
		})
	}
}

func notFound(err error, name string) error {
	if errors.Is(err, chatcore.ErrNotFound) {
		return cli.Exit(fmt.Sprintf("no agent %s; `syncd agent list` shows them", name), 1)
	}
	if errors.Is(err, chatcore.ErrLastAdmin) {
		return cli.Exit(fmt.Sprintf("%s is the only admin; make another agent admin first (`syncd agent admin NAME`)", name), 1)
	}
	return err
}

// withAgents checks the USERNAME argument (when wantName), opens the
// database and runs fn.
func withAgents(c *cli.Context, wantName bool, fn func(st *chatstore.DB, name string) error) error {
	var name string
	args := c.Args().Slice()
	// urfave/cli stops reading flags at the first argument; accept
	// `add alice --password-stdin` as well as `add --password-stdin alice`
	// (and `admin alice --revoke`).
	// (and `admin alice --revoke`, `add alice --admin --password-stdin`).
	for n := len(args); n > 0 && c.Command.Names()[0] != "list"; n = len(args) {
		flag := strings.TrimLeft(args[n-1], "-")
		if !strings.HasPrefix(args[n-1], "-") || !hasFlag(c.Command, flag) {
			break
		}
		args = args[:n-1]
		if err := c.Set(flag, "true"); err != nil {
			return err
		}
	}
	if wantName {
		if len(args) != 1 {
			return cli.Exit("usage: syncd agent "+c.Command.Name+" USERNAME", 2)
		}
		name = credentials.NormalizeUsername(args[0])
		if err := credentials.ValidateUsername(name); err != nil {
			return cli.Exit(err.Error(), 2)
		}
	} else if len(args) != 0 {
		return cli.Exit("usage: syncd agent "+c.Command.Name, 2)
	}
	return withChatStore(c, func(st *chatstore.DB) error { return fn(st, name) })
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// newPasswordHash reads a new password (stdin or prompt) and hashes it.
func newPasswordHash(c *cli.Context) (string, error) {
	pw, err := readPassword(c)
	if err != nil {
		return "", err
	}
	hash, err := credentials.HashPassword(pw)
	if errors.Is(err, credentials.ErrInvalid) {
		return "", cli.Exit(err.Error(), 2)
	}
	return hash, err
}

// readPassword takes the first line of stdin with --password-stdin, or
// prompts twice on a terminal.
func readPassword(c *cli.Context) (string, error) {
	if c.Bool("password-stdin") {
		line, err := bufio.NewReader(stdin(c)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", cli.Exit("no password on stdin", 2)
		}
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", cli.Exit("stdin is not a terminal: pipe the password in with --password-stdin", 2)
	}
	prompt := func(label string) (string, error) {
		fmt.Fprint(c.App.ErrWriter, label)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(c.App.ErrWriter)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	pw, err := prompt("New password: ")
	if err != nil {
		return "", err
	}
	again, err := prompt("Again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", cli.Exit("the passwords differ", 2)
	}
	return pw, nil
}

func stdin(c *cli.Context) io.Reader {
	if c.App.Reader != nil {
		return c.App.Reader
	}
	return os.Stdin
}
