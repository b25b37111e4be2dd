package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Report is a whole benchmark: syncd and the naive poller on the same
// backlog, then naive pollers running side by side.
type Report struct {
	Config   Config // with the defaults filled in
	Server   string // VERSION() of the database server
	Database string // the scratch database
	Syncd    Result
	Naive    Result
	// Concurrent is NaiveInstances naive pollers on NaiveRows rows; nil
	// when skipped.
	Concurrent *Result
}

// Ratio is syncd's throughput over the naive poller's.
func (r *Report) Ratio() float64 {
	if n := r.Naive.RowsPerSecond(); n > 0 {
		return r.Syncd.RowsPerSecond() / n
	}
	return 0
}

// Run creates a scratch database, relays a backlog of Config.Rows with
// syncd, and unless Config.SyncdOnly empties the tables, relays the same
// backlog with one naive poller,
// and, unless NaiveInstances is negative, relays NaiveRows rows with
// NaiveInstances naive pollers at once to count double relays. It drops the
// scratch database at the end unless Config.Keep. The report holds what was
// measured even when a step fails.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	s, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	rep = &Report{Config: s.cfg, Server: s.Server, Database: s.Name}

	if err := s.SeedExpired(ctx, s.cfg.ExpiredRows); err != nil {
		return rep, err
	}
	if err := s.Seed(ctx, s.cfg.Rows); err != nil {
		return rep, err
	}
	if rep.Syncd, err = s.RelaySyncd(ctx); err != nil || s.cfg.SyncdOnly {
		return rep, err
	}
	if err := s.Reset(ctx); err != nil {
		return rep, err
	}
	if err := s.Seed(ctx, s.cfg.Rows); err != nil {
		return rep, err
	}
	if rep.Naive, err = s.RelayNaive(ctx, 1); err != nil {
		return rep, err
	}
	if s.cfg.NaiveInstances < 0 {
		return rep, nil
	}
	if err := s.Reset(ctx); err != nil {
		return rep, err
	}
	if err := s.Seed(ctx, s.cfg.NaiveRows); err != nil {
		return rep, err
	}
	c, err := s.RelayNaive(ctx, s.cfg.NaiveInstances)
	rep.Concurrent = &c
	return rep, err
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "server:   %s, scratch database %s\n", r.Server, r.Database)
	fmt.Fprintf(w, "backlog:  %d rows over %d conversations, %d-byte bodies\n", c.Rows, c.Conversations, c.BodyBytes)
	fmt.Fprintf(w, "syncd:    %d instances, batch %d, %d shards, %d workers each, schedule %q\n\n",
		c.Instances, c.BatchSize, c.Shards, c.Workers, c.Schedule)
	r.Syncd.writeText(w)
	r.Naive.writeText(w)
	if r.Syncd.Elapsed > 0 && r.Naive.Elapsed > 0 {
		fmt.Fprintf(w, "ratio syncd/naive: %.1fx\n", r.Ratio())
	}
	if r.Concurrent != nil && r.Concurrent.Elapsed > 0 {
		fmt.Fprintln(w)
		r.Concurrent.writeText(w)
	}
}

func (r Result) writeText(w io.Writer) {
	if r.Elapsed == 0 {
		return
	}
	plural := "s"
	if r.Instances == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "%-5s x%d: %d rows in %s = %.0f rows/s\n", r.Poller, r.Instances, r.Backlog,
		r.Elapsed.Round(time.Millisecond), r.RowsPerSecond())
	if r.Purged > 0 || r.PurgeLeft > 0 {
		fmt.Fprintf(w, "  retention deleted %d expired sent rows meanwhile (%d left when the relay was done)\n", r.Purged, r.PurgeLeft)
	}
	if err := r.exactlyOnce(); err == nil {
		fmt.Fprintf(w, "  every row sent and in history exactly once, sequences gapless\n")
	} else {
		fmt.Fprintf(w, "  sent %d of %d; %d history rows; %d rows relayed more than once by %d poller%s;"+
			" %d sequence numbers given twice\n",
			r.Sent, r.Backlog, r.History, r.Duplicated, r.Instances, plural, r.SeqCollisions)
	}
	for _, st := range r.Steps {
		if st.Calls == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-9s %6d calls (%d found nothing, %d failed), %d %s, %s summed over workers, %.1f ms a call\n",
			st.Name, st.Calls, st.Empty, st.Errors, st.Rows, st.Unit,
			st.Total.Round(time.Millisecond), float64(st.Total.Microseconds())/1000/float64(st.Calls))
	}
	sc := r.Server
	fmt.Fprintf(w, "  server, all clients: %d SELECT, %d INSERT, %d UPDATE, %d COMMIT, %d fsyncs, %d rows read,"+
		" %d row lock waits (%s), %d deadlocks\n",
		sc.Selects, sc.Inserts, sc.Updates, sc.Commits, sc.Fsyncs, sc.RowsRead,
		sc.LockWaits, sc.LockWait.Round(time.Millisecond), sc.Deadlocks)
}
