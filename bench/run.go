package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	schema "github.com/syncd-dev/syncd/sql"
)

// Report is a whole benchmark: syncd, the claim loops and the naive poller
// on the same backlog, then naive pollers running side by side.
type Report struct {
	Config   Config // with the defaults filled in
	Server   string // VERSION() of the database server
	Database string // the scratch database
	Syncd    Result
	// Baselines are the claim loops, Loop and LoopHistory with each of
	// baselineClaimers, in the order they ran.
	Baselines []Result
	Naive     Result
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

// Best is the fastest complete baseline run, of the loops with history
// alone when history is set; false when none ran to the end.
func (r *Report) Best(history bool) (Result, bool) {
	var best Result
	for _, b := range r.Baselines {
		done := b.Sent == int64(b.Backlog) && b.Backlog > 0 // a failed run is not checked, so not compared
		if done && (!history || !b.NoHistory) && b.RowsPerSecond() > best.RowsPerSecond() {
			best = b
		}
	}
	return best, best.Elapsed > 0
}

// BaselineRatio is syncd's throughput over the best baseline's (of the
// loops with history alone when history is set).
func (r *Report) BaselineRatio(history bool) float64 {
	if b, ok := r.Best(history); ok {
		return r.Syncd.RowsPerSecond() / b.RowsPerSecond()
	}
	return 0
}

// Run creates a scratch database and relays a backlog of Config.Rows with
// syncd. Unless Config.SyncdOnly, it then relays the same backlog, afresh
// each time, with the claim loops (unless Config.NoBaselines) and, on
// MySQL, with one naive poller, and, unless NaiveInstances is negative,
// NaiveRows rows with NaiveInstances naive pollers at once to count double
// relays. It drops the scratch database at the end unless Config.Keep. The
// report holds what was measured even when a step fails.
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
	if !s.cfg.NoBaselines {
		for _, history := range []bool{false, true} {
			for _, n := range baselineClaimers {
				if err := s.Reset(ctx); err != nil {
					return rep, err
				}
				if err := s.Seed(ctx, s.cfg.Rows); err != nil {
					return rep, err
				}
				b, err := s.RelayLoop(ctx, history, n)
				rep.Baselines = append(rep.Baselines, b)
				if err != nil {
					return rep, err
				}
			}
		}
	}
	if s.dialect == schema.Postgres {
		return rep, nil // naive.go is MySQL's SQL
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
	pg := dialectOf(c.DSN) == schema.Postgres
	r.Syncd.writeText(w, pg)
	for _, b := range r.Baselines {
		b.writeText(w, pg)
	}
	if r.Syncd.Elapsed > 0 {
		for _, history := range []bool{false, true} {
			if b, ok := r.Best(history); ok {
				fmt.Fprintf(w, "ratio syncd/best %-12s %.2fx (%s x%d, %.0f rows/s)\n", map[bool]string{false: "baseline:", true: "with history:"}[history],
					r.BaselineRatio(history), b.Poller, b.Instances, b.RowsPerSecond())
			}
		}
	}
	r.Naive.writeText(w, pg)
	if r.Syncd.Elapsed > 0 && r.Naive.Elapsed > 0 {
		fmt.Fprintf(w, "ratio syncd/naive: %.1fx\n", r.Ratio())
	}
	if r.Concurrent != nil && r.Concurrent.Elapsed > 0 {
		fmt.Fprintln(w)
		r.Concurrent.writeText(w, pg)
	}
}

func (r Result) writeText(w io.Writer, pg bool) {
	if r.Elapsed == 0 {
		return
	}
	plural := "s"
	if r.Instances == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "%-12s x%d: %d rows in %s = %.0f rows/s\n", r.Poller, r.Instances, r.Backlog,
		r.Elapsed.Round(time.Millisecond), r.RowsPerSecond())
	if r.Purged > 0 || r.PurgeLeft > 0 {
		fmt.Fprintf(w, "  retention deleted %d expired sent rows meanwhile (%d left when the relay was done)\n", r.Purged, r.PurgeLeft)
	}
	switch {
	case r.NoHistory && r.exactlyOnce() == nil:
		fmt.Fprintf(w, "  every row sent and acknowledged exactly once (no history)\n")
	case r.NoHistory:
		fmt.Fprintf(w, "  sent %d of %d; %d rows acknowledged, %d of them more than once\n", r.Sent, r.Backlog, r.History, r.Duplicated)
	case r.exactlyOnce() == nil:
		fmt.Fprintf(w, "  every row sent and in history exactly once, sequences gapless and in the rows' order\n")
	case r.exactlyOnceAnyOrder() == nil:
		fmt.Fprintf(w, "  every row sent and in history exactly once, sequences gapless; %d history neighbours out of their rows' order\n", r.OutOfOrder)
	default:
		fmt.Fprintf(w, "  sent %d of %d; %d history rows; %d rows relayed more than once by %d poller%s;"+
			" %d sequence numbers given twice\n",
			r.Sent, r.Backlog, r.History, r.Duplicated, r.Instances, plural, r.SeqCollisions)
	}
	if r.Retries > 0 {
		fmt.Fprintf(w, "  %d claims or write-backs run again after a deadlock or lock wait timeout\n", r.Retries)
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
	per := func(v int64) float64 { return float64(v) / float64(max(r.Backlog, 1)) }
	cpu := ""
	if sc.CPU >= 0 {
		cpu = fmt.Sprintf(", %.0f µs server CPU", float64(sc.CPU.Microseconds())/float64(max(r.Backlog, 1)))
	}
	if pg {
		fmt.Fprintf(w, "  server (scratch database; WAL server-wide): %d commits, %d rows fetched, %d entries returned,"+
			" %d rows inserted, %d updated, %d deleted, %d index and table scans, %d WAL syncs, %.1f MiB WAL, %d deadlocks\n",
			sc.Commits, sc.RowsRead, sc.Returned, sc.Inserts, sc.Updates, sc.Deletes, sc.Scans, sc.Fsyncs, float64(sc.LogBytes)/(1<<20), sc.Deadlocks)
		fmt.Fprintf(w, "  per relayed row: %.3f index and table scans, %.4f commits, %.4f WAL syncs, %.2f rows fetched, %.2f entries returned,"+
			" %.2f rows written, %.0f WAL bytes%s\n",
			per(sc.Scans), per(sc.Commits), per(sc.Fsyncs), per(sc.RowsRead), per(sc.Returned), per(sc.Inserts+sc.Updates+sc.Deletes), per(sc.LogBytes), cpu)
		return
	}
	fmt.Fprintf(w, "  server, all clients: %d SELECT, %d INSERT, %d UPDATE, %d DELETE, %d COMMIT, %d fsyncs, %d rows read,"+
		" %.1f MiB redo, %d row lock waits (%s), %d deadlocks\n",
		sc.Selects, sc.Inserts, sc.Updates, sc.Deletes, sc.Commits, sc.Fsyncs, sc.RowsRead, float64(sc.LogBytes)/(1<<20),
		sc.LockWaits, sc.LockWait.Round(time.Millisecond), sc.Deadlocks)
	fmt.Fprintf(w, "  per relayed row: %.4f statements, %.4f COMMITs, %.4f fsyncs, %.2f rows read, %.0f redo bytes%s\n",
		per(sc.Selects+sc.Inserts+sc.Updates+sc.Deletes), per(sc.Commits), per(sc.Fsyncs), per(sc.RowsRead), per(sc.LogBytes), cpu)
}
