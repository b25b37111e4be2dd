package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/store"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show rows by status, the oldest pending row's age, the claims in flight and who holds each shard",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(c *cli.Context) error {
			cfg, _, err := loadConfig(c)
			if err != nil {
				return err
			}
			st, err := openStore(c.Context, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			locker, rc := newLocker(cfg, "syncd-status", newLogger(cfg))
			if rc != nil {
				defer rc.Close()
			}
			b, err := readBacklog(c.Context, st, locker, cfg.Poller.Shards)
			if err != nil {
				return err
			}
			stats, claims, orphans, holders := b.stats, b.claims, b.orphans, b.holders
			oldestAge := stats.OldestPendingAge.Seconds() // on the database's clock
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{
					"rows": stats.ByStatus, "unrecognised_status": stats.Unrecognised, "oldest_pending_age_seconds": oldestAge, "orphaned_processing": orphans,
					"shards": holders, "claims": claims,
					"locks": locksKind(locker),
				})
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "STATUS\tROWS")
			for _, s := range store.Statuses {
				fmt.Fprintf(w, "%s\t%d\n", s, stats.ByStatus[s])
			}
			w.Flush()
			switch {
			case stats.ByStatus["pending"] == 0:
				fmt.Fprintln(c.App.Writer, "oldest pending: none")
			case stats.OldestPending.IsZero():
				fmt.Fprintln(c.App.Writer, "oldest pending: age unknown (its created_at is not a time)")
			default:
				fmt.Fprintf(c.App.Writer, "oldest pending: %s ago\n", stats.OldestPendingAge.Round(time.Millisecond))
			}
			if stats.Unrecognised > 0 {
				fmt.Fprintf(c.App.Writer, "status none of pending/processing/sent/failed: %s, never relayed "+
					"(MariaDB stores '' for a status its ENUM refuses when sql_mode is empty); "+
					"UPDATE message_sync SET status = 'pending' WHERE status NOT IN ('pending','processing','sent','failed') relays them\n",
					rowsNoun(stats.Unrecognised))
			}
			if orphans > 0 {
				fmt.Fprintf(c.App.Writer, "processing with no claim in flight: %s (set by hand, or by an older syncd); "+
					"syncd run returns them within poller.lease, `syncd requeue --orphaned` now\n", rowsNoun(orphans))
			}
			if len(claims) == 0 {
				fmt.Fprintln(c.App.Writer, "claims in flight: none")
			} else {
				w = tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "CLAIMED BY\tBUCKETS\tAGE\tLEASE LEFT")
				for _, cl := range claims {
					fmt.Fprintf(w, "%s\t%d-%d\t%s\t%s\n", cl.ClaimedBy, cl.BucketLo, cl.BucketHi-1,
						time.Since(cl.CreatedAt).Round(time.Millisecond), time.Until(cl.LeaseUntil).Round(time.Millisecond))
				}
				w.Flush()
			}
			if !locker.Distributed() {
				fmt.Fprintln(c.App.Writer, "shard locks: in-process (no redis.addr): each instance holds its own")
				return nil
			}
			w = tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SHARD\tHOLDER")
			for _, h := range holders {
				holder := h.Holder
				if holder == "" {
					holder = "-"
				}
				fmt.Fprintf(w, "%s\t%s\n", h.Shard, holder)
			}
			return w.Flush()
		},
	}
}

func requeueCommand() *cli.Command {
	return &cli.Command{
		Name: "requeue",
		Usage: "put failed rows back to pending (all failed rows unless filtered); rows that failed as invalid " +
			"only with --force, processing rows with no claim only with --orphaned",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ids", Usage: "comma-separated message_sync ids; says why for each one it leaves alone"},
			&cli.StringFlag{Name: "conversation", Usage: "only this conversation_key"},
			&cli.StringFlag{Name: "error-contains", Usage: "only rows whose last_error contains this text"},
			&cli.DurationFlag{Name: "since", Usage: "only rows created within this long, e.g. 24h"},
			&cli.BoolFlag{Name: "orphaned", Usage: "also rows left processing with no claim in flight (set by hand, or by an older syncd)"},
			&cli.BoolFlag{Name: "force", Usage: "also rows that failed as invalid, after you fixed them or raised the limit they broke"},
		},
		Action: func(c *cli.Context) error {
			cfg, _, err := loadConfig(c)
			if err != nil {
				return err
			}
			f := store.RequeueFilter{
				ConversationKey: c.String("conversation"), ErrorContains: c.String("error-contains"),
				Orphaned: c.Bool("orphaned"), Force: c.Bool("force"),
			}
			for _, s := range strings.Split(c.String("ids"), ",") {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return cli.Exit(fmt.Sprintf("--ids: %q is not an id", s), 2)
				}
				f.IDs = append(f.IDs, id)
			}
			if c.IsSet("since") {
				d := c.Duration("since")
				if d <= 0 {
					// Zero or less would match every row: not what "since" says.
					return cli.Exit(fmt.Sprintf("--since: %s is not a positive duration; write how far back, e.g. 24h", d), 2)
				}
				f.Since = time.Now().Add(-d)
			}
			st, err := openStore(c.Context, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := st.Requeue(c.Context, f)
			if err != nil {
				return err
			}
			for _, s := range res.Skipped {
				fmt.Fprintf(c.App.ErrWriter, "row %d not requeued: %s\n", s.ID, s.Reason)
			}
			if res.Invalid > 0 && len(f.IDs) == 0 {
				fmt.Fprintf(c.App.ErrWriter, "skipped %s that failed as invalid and would fail again, e.g. row %d: %s\n"+
					"fix them, or raise the limit they broke, then requeue them with --force\n",
					rowsNoun(res.Invalid), res.InvalidSample[0].ID, res.InvalidSample[0].Reason)
			}
			if res.OrphanedSent > 0 {
				fmt.Fprintf(c.App.ErrWriter, "%s left processing had been relayed already: back to sent, not relayed twice\n",
					rowsNoun(res.OrphanedSent))
			}
			if f.Orphaned {
				fmt.Fprintf(c.App.Writer, "requeued %s: %d failed, %d orphaned processing\n", rowsNoun(res.Failed+res.Orphaned), res.Failed, res.Orphaned)
			} else {
				fmt.Fprintf(c.App.Writer, "requeued %s\n", rowsNoun(res.Failed))
			}
			return nil
		},
	}
}

func rowsNoun(n int64) string {
	if n == 1 {
		return "1 row"
	}
	return fmt.Sprintf("%d rows", n)
}

func injectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inject",
		Usage:     "insert a row into message_sync exactly as a legacy application would (a smoke test)",
		ArgsUsage: "BODY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "conversation", Value: "smoke-test", Usage: "conversation_key"},
			&cli.StringFlag{Name: "sender", Usage: "sender_name"},
			&cli.StringFlag{Name: "kind", Usage: "kind: message (default) or an event name such as order_created"},
			&cli.StringFlag{Name: "payload", Usage: "payload JSON"},
			&cli.DurationFlag{Name: "wait", Usage: "wait this long for the row to leave pending and print its status"},
		},
		Action: func(c *cli.Context) error {
			cfg, _, err := loadConfig(c)
			if err != nil {
				return err
			}
			// The contract requires a body: an empty one would only fail,
			// and a made-up one would not be what the user typed.
			body := strings.Join(c.Args().Slice(), " ")
			if strings.TrimSpace(body) == "" {
				return cli.Exit(`inject: give the message text, e.g. syncd inject --conversation demo "Where is my order?"`, 2)
			}
			st, err := openStore(c.Context, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			id, err := st.Insert(c.Context, store.NewRow{ConversationKey: c.String("conversation"), Body: body,
				SenderName: c.String("sender"), Kind: c.String("kind"), Payload: c.String("payload")})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "inserted message_sync row %d into %s\n", id, describeDatabase(cfg))
			wait := c.Duration("wait")
			if wait <= 0 {
				return nil
			}
			deadline := time.Now().Add(wait)
			for {
				rs, err := st.Status(c.Context, id)
				if err != nil {
					return err
				}
				if rs.Status == "sent" || rs.Status == "failed" {
					fmt.Fprintln(c.App.Writer, strings.TrimSpace(fmt.Sprintf("row %d: %s %s", id, rs.Status, rs.LastError)))
					if rs.Status == "failed" {
						return cli.Exit("row failed", 1)
					}
					return nil
				}
				if time.Now().After(deadline) {
					return cli.Exit(fmt.Sprintf("row %d still %s after %s: is `syncd run` running?", id, rs.Status, wait), 1)
				}
				select {
				case <-c.Context.Done():
					return c.Context.Err()
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	}
}
