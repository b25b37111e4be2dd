package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/poller/retention"
	"github.com/syncd-dev/syncd/store"
)

func purgeCommand() *cli.Command {
	return &cli.Command{
		Name: "purge",
		Usage: "run one retention pass now: delete the rows older than retention.* says (sent and failed rows, " +
			"replies done, chat history), in batches; --dry-run only counts them",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show per table how many rows a pass would delete, and their oldest and newest time"},
		},
		Action: func(c *cli.Context) error {
			cfg, _, err := loadConfig(c)
			if err != nil {
				return err
			}
			policy := retentionPolicy(cfg.Retention)
			if !policy.Enabled() {
				fmt.Fprintln(c.App.Writer, "retention keeps every row (retention.* are all 0): nothing to purge")
				return nil
			}
			st, err := openStore(c.Context, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			st.SetWebhookDelivery(cfg.Webhook.Enabled()) // as syncd run: undelivered replies stay
			instance := instanceName(cfg)
			log := newLogger(cfg)
			locker, rc := newLocker(cfg, instance, log)
			if rc != nil {
				defer rc.Close()
			}
			p, err := retention.New(retention.Options{Store: st, Locker: locker, Policy: policy, Logger: log})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
			defer w.Flush()
			if c.Bool("dry-run") {
				plan, err := p.Preview(c.Context)
				if err != nil {
					return err
				}
				fmt.Fprintln(w, "TABLE\tWHAT\tOLDER THAN\tROWS\tOLDEST\tNEWEST")
				for _, pl := range plan {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", pl.Kind.Table(), pl.Kind, stamp(pl.Before), pl.Rows, stamp(pl.Oldest), stamp(pl.Newest))
				}
				if keepsHistory(plan) {
					fmt.Fprintln(w, "(conversations: those empty now; those whose last messages go in the pass follow in the next one)")
				}
				return nil
			}
			res, err := p.RunOnce(c.Context)
			if errors.Is(err, retention.ErrNotHolder) {
				return cli.Exit("syncd purge: "+err.Error()+"; try again when its pass is done", 1)
			}
			fmt.Fprintln(w, "TABLE\tWHAT\tOLDER THAN\tDELETED\tBATCHES")
			for _, r := range res {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\n", r.Kind.Table(), r.Kind, stamp(r.Before), r.Deleted, r.Batches)
			}
			return err
		},
	}
}

// retentionPolicy is the configuration's retention as the purger takes it.
func retentionPolicy(r config.Retention) retention.Policy {
	return retention.Policy{SentRows: r.SentRows, FailedRows: r.FailedRows, RepliesDone: r.RepliesDone, History: r.History}
}

func keepsHistory(plan []retention.Planned) bool {
	for _, p := range plan {
		if p.Kind == store.EmptyConversations {
			return true
		}
	}
	return false
}

// stamp writes a time in UTC to the second, "-" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
