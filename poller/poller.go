package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/internal/outage"
	"github.com/syncd-dev/syncd/internal/schedule"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
)

// Store is what the poller needs of the database.
type Store interface {
	Claim(ctx context.Context, shard store.Shard, claimer string, limit int, lease time.Duration) (*store.Claim, error)
	TakeBack(ctx context.Context, shard store.Shard, which store.Abandoned) (int64, error)
	ReturnOrphans(ctx context.Context, shard store.Shard, limit int) (store.Orphans, error)
	Commit(ctx context.Context, c *store.Claim, out store.Outcome) ([]chat.Message, error)
	DueShards(ctx context.Context, shards []store.Shard) ([]store.Shard, error)
}

// Converter decides what becomes of claimed rows (the bridge).
type Converter interface {
	Convert(ctx context.Context, rows []store.Row) store.Outcome
}

// Publisher pushes committed messages to agents (the chat core).
type Publisher interface {
	Publish(ctx context.Context, msgs []chat.Message) error
}

// Options configure a Poller; zero values mean the defaults in brackets.
type Options struct {
	Store     Store       // required
	Locker    lock.Locker // required
	Converter Converter   // required
	Publisher Publisher   // [none]
	Metrics   *Metrics    // [a private registry]
	Logger    *slog.Logger

	Instance     string        // claimer name written to claimed_by
	Schedule     string        // [@every 1s]
	Shards       int           // [16]; must divide store.Buckets
	BatchSize    int           // [500]
	Workers      int           // [2] shards relayed at once by this instance
	MaxAttempts  int           // [8]
	BackoffBase  time.Duration // [1s]
	BackoffMax   time.Duration // [5m]
	Lease        time.Duration // [30s] claim lease, for lockers that are not distributed; also the orphan sweep's period
	BatchTimeout time.Duration // [30s] one batch's convert+commit
	// FastInterval [100ms] is how often the poller probes for work while
	// it is busy (it found work within HotFor [30s]) or Attention reports
	// that an agent is waiting on this instance; otherwise only Schedule
	// probes. An idle instance costs the database one probe per Schedule
	// tick, a watched or busy one a probe per FastInterval. Negative: the
	// Schedule alone.
	FastInterval time.Duration
	HotFor       time.Duration
	// Attention reports whether someone waits for rows here: the console
	// has an agent's socket open on this instance [nobody].
	Attention func() bool
	// PanicHold [10s] is how long a shard's lock is kept after a panic
	// that left rows of its batch claimed, so that the next holder does
	// not take them back and run into the same panic at once.
	PanicHold time.Duration
}

func (o *Options) defaults() error {
	if o.Store == nil || o.Locker == nil || o.Converter == nil {
		return errors.New("poller: Store, Locker and Converter are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Schedule == "" {
		o.Schedule = "@every 1s"
	}
	def(&o.Shards, 16)
	def(&o.BatchSize, 500)
	def(&o.Workers, 2)
	def(&o.MaxAttempts, 8)
	defDur(&o.BackoffBase, time.Second)
	defDur(&o.BackoffMax, 5*time.Minute)
	defDur(&o.Lease, 30*time.Second)
	defDur(&o.BatchTimeout, 30*time.Second)
	defDur(&o.PanicHold, 10*time.Second)
	if o.FastInterval == 0 {
		o.FastInterval = 100 * time.Millisecond
	}
	defDur(&o.HotFor, 30*time.Second)
	if store.Buckets%o.Shards != 0 {
		return fmt.Errorf("poller: %d shards do not divide %d buckets", o.Shards, store.Buckets)
	}
	return nil
}

// Poller relays message_sync rows on a schedule. Start it once; Stop waits
// for the batches in hand.
type Poller struct {
	o        Options
	schedule cron.Schedule
	log      *slog.Logger
	m        *Metrics

	cron   *cron.Cron
	wake   chan struct{} // Wake's: at most one pending
	queue  chan int
	queued []atomic.Bool // a shard is queued or running: never twice at once
	// missed marks a shard that a probe skipped because it was queued or
	// running: a row committed after the shard's last claim would wait for
	// the next probe, so the worker checks the shard again when it ends.
	missed []atomic.Bool

	runCtx    context.Context // cancelled only when Stop runs out of time
	hardStop  context.CancelFunc
	stopping  atomic.Bool
	idle      chan struct{} // closed by Stop: workers leave
	wg        sync.WaitGroup
	startOnce sync.Once
	failing   outage.Log // warnings are logged once per outage
	stopOnce  sync.Once
	started   atomic.Bool

	lastWork atomic.Int64 // unix nanoseconds of the last probe or claim that found work

	// The orphan sweep, run by tick only (cron never overlaps it).
	sweepNext   int       // next slice to sweep
	sweepCredit float64   // slices due and not swept yet
	sweptAt     time.Time // when the credit was last added to
}

// New checks the options and parses the schedule.
func New(o Options) (*Poller, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	sched, err := schedule.Parse(o.Schedule)
	if err != nil {
		return nil, err
	}
	return &Poller{
		o: o, schedule: sched, log: o.Logger.With(slog.String("component", "poller")), m: o.Metrics,
		queue: make(chan int, o.Shards), queued: make([]atomic.Bool, o.Shards), missed: make([]atomic.Bool, o.Shards), idle: make(chan struct{}),
		wake: make(chan struct{}, 1),
	}, nil
}

// Start launches the workers and the schedule, and returns at once.
func (p *Poller) Start(ctx context.Context) {
	p.startOnce.Do(func() {
		p.runCtx, p.hardStop = context.WithCancel(context.WithoutCancel(ctx))
		for i := 0; i < p.o.Workers; i++ {
			p.wg.Add(1)
			go p.worker()
		}
		// A slow probe (database trouble) must not pile up ticks behind it.
		p.cron = cron.New(cron.WithLocation(time.UTC), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
		p.cron.Schedule(p.schedule, cron.FuncJob(p.tick))
		p.cron.Start()
		p.wg.Add(1)
		go p.waker()
		if p.o.FastInterval > 0 {
			p.wg.Add(1)
			go p.fast()
		}
		p.started.Store(true)
		p.log.Info("poller started", slog.String("schedule", p.o.Schedule), slog.Int("shards", p.o.Shards),
			slog.Int("workers", p.o.Workers), slog.Int("batch_size", p.o.BatchSize))
	})
}

// Kick queues every shard that is not already queued or running, without
// asking the database which have work: at start, so that rows left
// processing by a previous run are taken back at once. Tests and benchmarks
// may call it to skip a tick.
func (p *Poller) Kick() {
	p.enqueue(p.idleShards())
}

// Wake asks for a probe now instead of at the next tick: the database
// said rows arrived (PostgreSQL's NOTIFY, store.Listen). Wakes that come
// while one is pending merge into it; none is needed for correctness, the
// schedule finds every row anyway.
func (p *Poller) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// waker runs the probes Wake asks for, one at a time, until Stop.
func (p *Poller) waker() {
	defer p.wg.Done()
	for {
		select {
		case <-p.idle:
			return
		case <-p.wake:
			if p.stopping.Load() {
				continue
			}
			p.m.Wakeups.Inc()
			p.probe()
		}
	}
}

// fast probes every FastInterval while the poller is busy or watched (see
// Options.FastInterval), until Stop: adaptive polling, so that an agent
// sees a row within a fraction of a second while an idle database is
// asked once per Schedule tick.
func (p *Poller) fast() {
	defer p.wg.Done()
	t := time.NewTicker(p.o.FastInterval)
	defer t.Stop()
	for {
		select {
		case <-p.idle:
			return
		case <-t.C:
		}
		if !p.stopping.Load() && p.hot() {
			p.m.FastProbes.Inc()
			p.probe()
		}
	}
}

// hot reports whether the poller found work within HotFor, or an agent
// waits on this instance.
func (p *Poller) hot() bool {
	if last := p.lastWork.Load(); last != 0 && time.Since(time.Unix(0, last)) < p.o.HotFor {
		return true
	}
	return p.o.Attention != nil && p.o.Attention()
}

// sawWork marks now as the last time work was found.
func (p *Poller) sawWork() { p.lastWork.Store(time.Now().UnixNano()) }

// tick is the schedule's job. It queues only the shards that have work, so
// that an idle or drained database costs one statement per tick rather
// than a lock and three queries per shard. If that statement fails, every
// shard is queued, and the shard runs report and retry the outage.
func (p *Poller) tick() {
	if p.stopping.Load() {
		return
	}
	p.sweepOrphans()
	p.probe()
}

// probe queues the idle shards that have work. Ticks and wakes may probe
// at once: enqueue never queues a shard twice.
func (p *Poller) probe() {
	// Mark every shard missed before looking which are idle, and clear the
	// idle ones: a shard that ends its run meanwhile is either seen idle
	// here or finds its mark (runShards).
	for i := range p.missed {
		p.missed[i].Store(true)
	}
	idle := p.idleShards()
	for _, sh := range idle {
		p.missed[sh.Index].Store(false)
	}
	if len(idle) == 0 {
		return // every shard is queued or running here already
	}
	ctx, cancel := context.WithTimeout(p.runCtx, p.o.BatchTimeout)
	due, err := p.o.Store.DueShards(ctx, idle)
	cancel()
	if err != nil {
		p.m.Errors.WithLabelValues("probe").Inc()
		p.warn(p.log, "probe", "find shards with work; trying every shard", err)
		due = idle
	} else {
		p.ok(p.log, "probe")
	}
	if len(due) > 0 {
		p.sawWork()
	}
	p.enqueue(due)
}

// recheck queues shard again if it has work: a probe skipped it while it
// ran (a wake-up for a row committed after its last claim, say).
func (p *Poller) recheck(shard store.Shard) {
	if p.stopping.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(p.runCtx, p.o.BatchTimeout)
	due, err := p.o.Store.DueShards(ctx, []store.Shard{shard})
	cancel()
	if err != nil {
		return // the next probe asks again, and reports an outage
	}
	if len(due) > 0 {
		p.sawWork() // work found, as by a probe: keep the fast probes on
	}
	p.enqueue(due)
}

// orphanSlices is how finely the orphan sweep divides the buckets, and
// orphanLimit how many rows one slice returns at most per tick.
const (
	orphanSlices = 64
	orphanLimit  = 1000
)

// sweepOrphans returns processing rows that no claim covers to pending
// (store.ReturnOrphans). Each tick sweeps the slices of the buckets that
// came due since the last, so the table is swept once per lease, a few
// buckets at a time: never the whole 'processing' range at once, and
// never on a claim's path. The first slice is swept at the first tick.
func (p *Poller) sweepOrphans() {
	now := time.Now()
	if p.sweptAt.IsZero() {
		p.sweepCredit = 1
	} else {
		p.sweepCredit += orphanSlices * float64(now.Sub(p.sweptAt)) / float64(p.o.Lease)
	}
	p.sweptAt = now
	p.sweepCredit = min(p.sweepCredit, orphanSlices)
	for ; p.sweepCredit >= 1 && !p.stopping.Load(); p.sweepCredit-- {
		slice := store.Shard{Index: p.sweepNext, Count: orphanSlices}
		ctx, cancel := context.WithTimeout(p.runCtx, p.o.BatchTimeout)
		o, err := p.o.Store.ReturnOrphans(ctx, slice, orphanLimit)
		cancel()
		if err != nil {
			p.m.Errors.WithLabelValues("orphans").Inc()
			p.warn(p.log, "orphans", "sweep for orphaned processing rows", err)
			return
		}
		p.ok(p.log, "orphans")
		if n := o.Pending + o.Sent; n > 0 {
			p.m.Orphaned.Add(float64(n))
			p.log.Warn("returned orphaned processing rows", slog.Int64("to_pending", o.Pending), slog.Int64("to_sent", o.Sent),
				slog.Any("ids", o.IDs[:min(len(o.IDs), 10)]),
				slog.String("reason", "processing with no claim in flight (set by hand, or by an older syncd); "+
					"rows that chat history holds already go back to sent, the others to pending"))
		}
		if len(o.IDs) < orphanLimit {
			p.sweepNext = (p.sweepNext + 1) % orphanSlices
		} // else the slice holds more: it goes on at the next tick
	}
}

// idleShards lists the shards this instance neither queued nor is running.
func (p *Poller) idleShards() []store.Shard {
	idle := make([]store.Shard, 0, p.o.Shards)
	for i := range p.queued {
		if !p.queued[i].Load() {
			idle = append(idle, store.Shard{Index: i, Count: p.o.Shards})
		}
	}
	return idle
}

func (p *Poller) enqueue(shards []store.Shard) {
	if p.stopping.Load() || len(shards) == 0 {
		return
	}
	// Start at a random shard so that instances ticking together spread
	// over the shards instead of all racing for the same one first.
	first := rand.IntN(len(shards))
	for i := range shards {
		s := shards[(first+i)%len(shards)].Index
		if p.queued[s].CompareAndSwap(false, true) {
			p.queue <- s // never blocks: capacity is the shard count
		}
	}
}

// Stop stops the schedule, lets each worker finish the batch in hand, and
// releases the shard locks. If ctx ends first, in-flight batches are
// cancelled (their rows go back to pending through lease or take-back) and
// Stop returns ctx's error. Safe to call more than once.
func (p *Poller) Stop(ctx context.Context) error {
	var err error
	p.stopOnce.Do(func() {
		if !p.started.Load() {
			return
		}
		p.stopping.Store(true)
		<-p.cron.Stop().Done()
		close(p.idle)
		done := make(chan struct{})
		go func() { p.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			p.hardStop()
			<-done
			err = fmt.Errorf("stop poller: %w", ctx.Err())
		}
		p.hardStop()
		p.log.Info("poller stopped")
	})
	return err
}

func (p *Poller) worker() {
	defer p.wg.Done()
	for {
		select {
		case <-p.idle:
			return
		case s := <-p.queue:
			p.runShard(p.runCtx, store.Shard{Index: s, Count: p.o.Shards})
			p.queued[s].Store(false)
			if p.missed[s].Swap(false) {
				p.recheck(store.Shard{Index: s, Count: p.o.Shards})
			}
		}
	}
}

// runShard takes the shard's lock and drains the shard.
func (p *Poller) runShard(ctx context.Context, shard store.Shard) {
	if p.stopping.Load() {
		return
	}
	log := p.log.With(slog.String("shard", shard.String()))
	lease, err := p.o.Locker.TryAcquire(ctx, LockKey(shard))
	if errors.Is(err, lock.ErrNotAcquired) {
		return
	}
	if err != nil {
		p.m.Errors.WithLabelValues("lock").Inc()
		p.warn(log, "lock", "cannot take shard lock; will retry next tick", err)
		return
	}
	p.ok(log, "lock")
	p.m.LockAcquired.Inc()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			log.Warn("release shard lock", slog.Any("error", err))
		}
	}()
	lctx := lease.Context()
	// Runs before the release: a panic that escaped the batch (in a claim
	// or a take-back) ends this shard run, not the process, and the lock
	// is kept a while so that no holder runs into it again at once.
	defer func() {
		if v := recover(); v != nil {
			p.panicked(log, "shard", v)
			p.hold(lctx, log)
		}
	}()

	which := store.LeaseExpired
	if p.o.Locker.Distributed() {
		// Nobody else can hold this shard now, so every processing row in
		// it belongs to a holder that died or lost the lock.
		which = store.AllProcessing
	}
	// Bounded like every other statement of a shard run: the lease's
	// context ends only when the lock is lost, and a statement the server
	// never answers must not hold the shard (and its lock) for good.
	tctx, tcancel := context.WithTimeout(lctx, p.o.BatchTimeout)
	n, err := p.o.Store.TakeBack(tctx, shard, which)
	tcancel()
	if err != nil {
		p.m.Errors.WithLabelValues("take_back").Inc()
		p.warn(log, "take_back", "take back abandoned rows", err)
		return
	}
	if p.ok(log, "take_back"); n > 0 {
		p.m.TakenBack.Add(float64(n))
		log.Info("took back abandoned rows", slog.Int64("rows", n))
	}

	// limit is the next claim's size. The first claim of the run that holds
	// a suspect is narrowed to the rows before it (or to it alone); the
	// claims after it ramp up, 1, 2, 4 rows and so on to the batch size,
	// suspects or not, and are not narrowed again. A suspect is then
	// relayed alone or in a small claim, and the rows of a killed
	// instance's claims (all suspects) cost a few claims, not a full batch
	// claimed and released for each. A row that kills its relayer is found all the same: each
	// crash in a claim of k rows leaves it among the first k rows of the
	// next ramp, which starts at 1, until it dies on a claim of its own and
	// take-back counts the attempt against it.
	limit, ramped := p.o.BatchSize, false
	for !p.stopping.Load() && lctx.Err() == nil {
		// The claim runs to its end, bounded by the batch timeout, rather
		// than stop with the lock: it is one short transaction, and a lost
		// lock is noticed by the loop right after it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(lctx), p.o.BatchTimeout)
		claim, err := p.o.Store.Claim(cctx, shard, p.o.Instance, limit, p.o.Lease)
		cancel()
		if err != nil {
			p.m.Errors.WithLabelValues("claim").Inc()
			p.warn(log, "claim", "claim rows", err)
			break
		}
		p.ok(log, "claim")
		if len(claim.Rows) == 0 {
			break
		}
		p.sawWork()
		p.m.Claimed.Add(float64(len(claim.Rows)))
		narrowed := false
		if !ramped {
			if narrowed, err = p.narrow(lctx, log, claim); err != nil {
				break
			}
			ramped = narrowed
		}
		if err := p.relay(lctx, log, claim); err != nil {
			if errors.Is(err, errPanicked) && len(claim.Unresolved()) > 0 {
				p.hold(lctx, log)
			}
			break
		}
		if len(claim.Rows) < limit && !narrowed {
			break // drained: what is left is not due yet
		}
		switch {
		case narrowed && claim.Rows[0].Suspect:
			limit = 2 // the suspect went alone
		case narrowed:
			limit = 1
		default:
			limit = min(2*limit, p.o.BatchSize)
		}
	}
	if lctx.Err() != nil && ctx.Err() == nil {
		p.m.LockLost.Inc()
		log.Warn("shard lock lost while relaying; stopped the shard's work")
	}
}

// narrow keeps a suspect (store.Row.Suspect: its last claim was abandoned,
// maybe because relaying it killed the process) out of a full batch, and
// releases the rest of the claim untouched, no attempt counted: the rows
// before the first suspect stay and go as a batch; a claim that starts
// with a suspect keeps only it. If a suspect's relayer dies again, the
// take-back of a one-row claim counts an attempt against its row and no
// other, so innocent rows of a crashed batch never run out of attempts.
// The loop in runShard claims the released rows next, in claims that
// ramp up from one row.
func (p *Poller) narrow(ctx context.Context, log *slog.Logger, c *store.Claim) (narrowed bool, err error) {
	keep := slices.IndexFunc(c.Rows, func(r store.Row) bool { return r.Suspect })
	if keep < 0 || len(c.Rows) == 1 {
		return false, nil
	}
	keep = max(keep, 1)
	release := make([]int64, 0, len(c.Rows)-keep)
	for _, r := range c.Rows[keep:] {
		release = append(release, r.ID)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.o.BatchTimeout)
	defer cancel()
	if _, err := p.o.Store.Commit(rctx, c, store.Outcome{Release: release}); err != nil {
		if errors.Is(err, store.ErrClaimLost) {
			p.m.ClaimsLost.Inc()
		}
		p.m.Errors.WithLabelValues("commit").Inc()
		p.warn(log, "commit", "release the rows claimed with a suspect; they wait for their lease or the next holder", err)
		return false, err
	}
	log.Debug("released rows claimed with a row whose last claim was abandoned, to relay it on a claim of its own",
		slog.Int("kept", keep), slog.Int("released", len(release)))
	return true, nil
}

// relay converts and commits one claim, then publishes what it added. A
// non-nil error ends the shard run. A panic on the way is recovered: the
// rows left are relayed one at a time (isolate), so that only the rows
// that cause it fail.
func (p *Poller) relay(ctx context.Context, log *slog.Logger, c *store.Claim) error {
	start := time.Now()
	bctx, cancel := context.WithTimeout(ctx, p.o.BatchTimeout)
	defer cancel()

	var out store.Outcome
	var msgs []chat.Message
	var err error
	if v := p.catch(log, "batch", func() { out, msgs, err = p.convertCommit(bctx, c, c.Unresolved()) }); v != nil {
		return p.isolate(ctx, log, c, v)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, store.ErrClaimLost) {
		return p.releaseClaim(ctx, log, c, err)
	}
	if err != nil {
		var rerr error
		if v := p.catch(log, "recover", func() { rerr = p.recoverCommit(ctx, log, c, out, err) }); v != nil {
			return p.isolate(ctx, log, c, v)
		}
		return rerr
	}
	p.ok(log, "commit")
	// Committed already: a panic while publishing loses nothing.
	p.catch(log, "publish", func() { p.committed(ctx, log, c, out, msgs, start) })
	return nil
}

// convertCommit decides the outcome of rows of c (out of attempts, or the
// converter's verdict) and commits it, returning what was committed.
func (p *Poller) convertCommit(ctx context.Context, c *store.Claim, rows []store.Row) (store.Outcome, []chat.Message, error) {
	var exhausted []store.Failed
	todo := rows[:0:0]
	for _, r := range rows {
		if r.Attempts >= p.o.MaxAttempts {
			exhausted = append(exhausted, store.Failed{ID: r.ID, Reason: fmt.Sprintf("gave up after %d attempts", r.Attempts)})
			continue
		}
		todo = append(todo, r)
	}
	out := p.o.Converter.Convert(ctx, todo)
	out.Failed = append(out.Failed, exhausted...)
	return p.commit(ctx, c, out)
}

// commit writes out. Rows whose conversation key the database merges with
// another conversation (store.KeyConflictError) fail with the reason, and
// the rest is committed without them; the outcome returned is the one
// written.
func (p *Poller) commit(ctx context.Context, c *store.Claim, out store.Outcome) (store.Outcome, []chat.Message, error) {
	for {
		msgs, err := p.o.Store.Commit(ctx, c, out)
		var kc *store.KeyConflictError
		if !errors.As(err, &kc) {
			return out, msgs, err
		}
		rest, ok := failRelayed(out, kc.Rows)
		if !ok {
			return out, nil, err // names no row of out: nothing to leave out
		}
		out = rest
	}
}

// failRelayed moves the named rows from out.Relayed to out.Failed; ok is
// false when none of them was relayed.
func failRelayed(out store.Outcome, rows []store.Failed) (store.Outcome, bool) {
	reason := make(map[int64]string, len(rows))
	for _, f := range rows {
		reason[f.ID] = f.Reason
	}
	rest := out
	rest.Relayed = nil
	rest.Failed = slices.Clone(out.Failed)
	for _, r := range out.Relayed {
		if why, bad := reason[r.Message.SourceID]; bad {
			rest.Failed = append(rest.Failed, store.Failed{ID: r.Message.SourceID, Reason: why})
			continue
		}
		rest.Relayed = append(rest.Relayed, r)
	}
	return rest, len(rest.Relayed) < len(out.Relayed)
}

// errPanicked ends a shard run whose batch panicked.
var errPanicked = errors.New("relay panicked")

// catch runs fn. A panic in it is logged with its stack, counted, and
// returned instead of unwinding further: no row may take the process down.
func (p *Poller) catch(log *slog.Logger, stage string, fn func()) (panicked any) {
	defer func() {
		if v := recover(); v != nil {
			panicked = v
			p.panicked(log, stage, v)
		}
	}()
	fn()
	return nil
}

func (p *Poller) panicked(log *slog.Logger, stage string, v any) {
	p.m.Panics.WithLabelValues(stage).Inc()
	log.Error("relay panicked; recovered (a bug in syncd: please report this line)", slog.String("stage", stage),
		slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
}

// isolate relays what is left of a batch that panicked, one row at a time,
// so that the panic costs only the rows that cause it: a row that panics
// on its own fails with the panic as its reason; the others are relayed as
// usual, with no attempt counted. A row that fails to commit for another
// reason is retried later and holds back its conversation, as in
// recoverCommit. It returns an error wrapping errPanicked.
func (p *Poller) isolate(ctx context.Context, log *slog.Logger, c *store.Claim, first any) error {
	rows := c.Unresolved()
	log.Warn("relaying the rest of the batch one row at a time to find the rows that panic", slog.Int("rows", len(rows)))
	var later store.Outcome
	held := map[string]bool{}
	culprits := 0
	for _, r := range rows {
		if ctx.Err() != nil {
			break // the lock is lost or shutdown ran out of time: the rest stays claimed
		}
		if held[r.ConversationKey] {
			later.Release = append(later.Release, r.ID)
			continue
		}
		start := time.Now()
		var out store.Outcome
		var msgs []chat.Message
		var err error
		bctx, cancel := context.WithTimeout(ctx, p.o.BatchTimeout)
		v := p.catch(log, "row", func() { out, msgs, err = p.convertCommit(bctx, c, []store.Row{r}) })
		cancel()
		switch {
		case v != nil:
			culprits++
			later.Failed = append(later.Failed, store.Failed{ID: r.ID, Reason: fmt.Sprintf(
				"relaying this row made syncd panic (%s); it was not relayed. This is a bug in syncd: please report it with the log line",
				truncate(fmt.Sprint(v), 300))})
		case errors.Is(err, store.ErrClaimLost):
			p.m.ClaimsLost.Inc()
			return fmt.Errorf("%w: %w", errPanicked, err)
		case err != nil:
			p.retryOrRelease(&later, held, r.ConversationKey, r.ID, r.Attempts, err)
		default:
			p.catch(log, "publish", func() { p.committed(ctx, log, c, out, msgs, start) })
		}
	}
	if len(later.Failed)+len(later.Retry)+len(later.Release) > 0 {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, err := p.o.Store.Commit(bctx, c, later)
		cancel()
		if err != nil {
			p.m.Errors.WithLabelValues("retry").Inc()
			log.Warn("could not write back the rows of a batch that panicked; they wait for the next holder",
				slog.Int("rows", len(later.Failed)+len(later.Retry)+len(later.Release)), slog.Any("error", err))
			return fmt.Errorf("%w: %w", errPanicked, err)
		}
		p.m.Failed.Add(float64(len(later.Failed)))
		p.m.Retried.Add(float64(len(later.Retry)))
		for _, f := range later.Failed {
			log.Warn("row failed", slog.Int64("row_id", f.ID), slog.String("reason", f.Reason))
		}
	}
	log.Info("batch that panicked relayed row by row", slog.Int("rows", len(rows)), slog.Int("panicked", culprits))
	return fmt.Errorf("%w: %v", errPanicked, first)
}

// hold keeps the shard's lock for PanicHold after a panic left rows of the
// shard claimed, or until the lock is lost or the poller stops, so that the
// next holder does not take them back and panic on them at once.
func (p *Poller) hold(lctx context.Context, log *slog.Logger) {
	log.Warn("keeping the shard lock after a panic", slog.Duration("for", p.o.PanicHold))
	t := time.NewTimer(p.o.PanicHold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-lctx.Done():
	case <-p.idle:
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func (p *Poller) committed(ctx context.Context, log *slog.Logger, c *store.Claim, out store.Outcome, msgs []chat.Message, start time.Time) {
	now := time.Now()
	p.m.Batch.Observe(now.Sub(start).Seconds())
	p.m.Sent.Add(float64(len(out.Relayed)))
	p.m.Failed.Add(float64(len(out.Failed)))
	p.m.Retried.Add(float64(len(out.Retry)))
	for _, r := range out.Relayed {
		// Never below zero: created_at comes from the database's clock or
		// the writer's, and history takes a later one as the commit time.
		// Zero means the row's created_at was unreadable: no latency.
		if !r.Message.CreatedAt.IsZero() {
			p.m.Latency.Observe(max(0, now.Sub(r.Message.CreatedAt)).Seconds())
		}
		if r.Handoff {
			p.m.Handoffs.Inc()
		}
		switch {
		case r.AutoReply != "" && r.Message.Kind == chat.KindMessage:
			p.m.BotReplies.WithLabelValues("message").Inc()
		case r.AutoReply != "":
			p.m.BotReplies.WithLabelValues("event").Inc()
		case r.Message.Suggestion != "":
			p.m.Suggestions.Inc()
		}
	}
	for _, f := range out.Failed {
		log.Warn("row failed", slog.Int64("row_id", f.ID), slog.String("reason", f.Reason))
	}
	if p.o.Publisher != nil && len(msgs) > 0 {
		if err := p.o.Publisher.Publish(ctx, msgs); err != nil {
			// Committed history is the truth; clients catch up from it.
			p.m.Errors.WithLabelValues("publish").Inc()
			log.Warn("publish relayed messages", slog.Int("messages", len(msgs)), slog.Any("error", err))
		}
	}
	log.Debug("batch relayed", slog.Int("sent", len(out.Relayed)), slog.Int("failed", len(out.Failed)),
		slog.Duration("took", now.Sub(start)))
}

// releaseClaim returns a batch cut short (shutdown ran out of time, or the
// lock was lost) to pending without counting an attempt. Fenced like any
// write-back: if another instance took the rows already, nothing changes.
func (p *Poller) releaseClaim(ctx context.Context, log *slog.Logger, c *store.Claim, cause error) error {
	var ids []int64
	for _, r := range c.Unresolved() {
		ids = append(ids, r.ID)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := p.o.Store.Commit(rctx, c, store.Outcome{Release: ids})
	switch {
	case errors.Is(err, store.ErrClaimLost):
		p.m.ClaimsLost.Inc()
		log.Warn("write-back of a cancelled batch found the claim taken by another instance; nothing written",
			slog.Int("rows", len(ids)), slog.Any("cause", cause))
	case err != nil:
		log.Warn("could not release a cancelled batch; its rows wait for their lease or the next holder",
			slog.Int("rows", len(ids)), slog.Any("error", err))
	default:
		log.Info("released a cancelled batch", slog.Int("rows", len(ids)), slog.Any("cause", cause))
	}
	return cause
}

// recoverCommit handles a failed commit. A lost claim is left alone: the
// rows belong to someone else now. Otherwise the rows are committed one at
// a time, so that one bad row cannot sink its batch, and whatever still
// fails is scheduled for a retry.
func (p *Poller) recoverCommit(ctx context.Context, log *slog.Logger, c *store.Claim, out store.Outcome, err error) error {
	if errors.Is(err, store.ErrClaimLost) {
		p.m.ClaimsLost.Inc()
		log.Warn("write-back found the claim taken by another instance; rolled back", slog.Any("error", err))
		return err
	}
	p.m.Errors.WithLabelValues("commit").Inc()
	p.warn(log, "commit", "commit batch failed; retrying row by row", err, slog.Int("rows", len(c.Rows)))

	retry := store.Outcome{}
	held := map[string]bool{} // conversations with a row waiting for retry
	failures := 0
	attempts := map[int64]int{}
	for _, r := range c.Rows {
		attempts[r.ID] = r.Attempts
	}
	one := func(single store.Outcome, key string, id int64) error {
		if held[key] || failures >= 3 {
			// Keep order: nothing of this conversation goes before the row
			// that waits. After repeated failures assume an outage.
			p.retryOrRelease(&retry, held, key, id, attempts[id], err)
			return nil
		}
		start := time.Now()
		bctx, cancel := context.WithTimeout(ctx, p.o.BatchTimeout)
		single, msgs, cerr := p.commit(bctx, c, single)
		cancel()
		if errors.Is(cerr, store.ErrClaimLost) {
			p.m.ClaimsLost.Inc()
			return cerr
		}
		if cerr != nil {
			failures++
			err = cerr
			p.retryOrRelease(&retry, held, key, id, attempts[id], cerr)
			return nil
		}
		failures = 0
		p.committed(ctx, log, c, single, msgs, start)
		return nil
	}
	for _, r := range out.Relayed {
		if e := one(store.Outcome{Relayed: []store.Relayed{r}}, r.Message.ConversationKey, r.Message.SourceID); e != nil {
			return e
		}
	}
	for _, f := range out.Failed {
		if e := one(store.Outcome{Failed: []store.Failed{f}}, fmt.Sprintf("#failed-%d", f.ID), f.ID); e != nil {
			return e
		}
	}
	// What the converter itself sent back for a retry or released goes
	// with the retries, so that every row of the claim is written back.
	retry.Retry = append(retry.Retry, out.Retry...)
	retry.Release = append(retry.Release, out.Release...)
	if len(retry.Retry)+len(retry.Failed)+len(retry.Release) == 0 {
		return nil
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, rerr := p.o.Store.Commit(bctx, c, retry); errors.Is(rerr, store.ErrClaimLost) {
		p.m.ClaimsLost.Inc()
		log.Warn("write-back found the claim taken by another instance; rolled back", slog.Any("error", rerr))
		return rerr
	} else if rerr != nil {
		// The rows stay claimed; the lease or the next holder takes them back.
		p.m.Errors.WithLabelValues("retry").Inc()
		p.warn(log, "retry", "could not schedule retries; rows wait for their lease or the next holder", rerr)
		return rerr
	}
	p.m.Retried.Add(float64(len(retry.Retry)))
	p.m.Failed.Add(float64(len(retry.Failed)))
	return errors.New("batch partly scheduled for retry")
}

// retryOrRelease schedules the first failing row of a conversation for a
// retry (or fails it when out of attempts) and releases the rows behind it.
func (p *Poller) retryOrRelease(out *store.Outcome, held map[string]bool, key string, id int64, attempts int, cause error) {
	if held[key] {
		out.Release = append(out.Release, id)
		return
	}
	held[key] = true
	if attempts+1 >= p.o.MaxAttempts {
		out.Failed = append(out.Failed, store.Failed{ID: id, Reason: fmt.Sprintf("gave up after %d attempts: %v", attempts+1, cause)})
		return
	}
	out.Retry = append(out.Retry, store.Retry{ID: id, At: time.Now().Add(p.backoff(attempts + 1)), Reason: cause.Error()})
}

// backoff is exponential with full jitter: base·2^(n-1), capped, then a
// random point in its upper half so that retries of many rows spread out.
// The doubling stops at the cap before it can overflow, whatever the cap
// and the attempt count (config bounds the cap to a day; the Options a
// test or bench passes are not validated).
func (p *Poller) backoff(attempt int) time.Duration {
	d, hi := p.o.BackoffBase, p.o.BackoffMax
	for i := 1; i < attempt && d < hi; i++ {
		if d > hi/2 {
			d = hi
			break
		}
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// LockKey names a shard's lock. The shard count is part of it, so instances
// configured with different counts never believe they share a lock.
func LockKey(s store.Shard) string { return fmt.Sprintf("shard:%d/%d", s.Index, s.Count) }

// warn and ok log a failing stage once per outage (internal/outage).
func (p *Poller) warn(log *slog.Logger, stage, msg string, err error, attrs ...any) {
	p.failing.Warn(log, stage, msg, err, attrs...)
}

func (p *Poller) ok(log *slog.Logger, stage string) { p.failing.OK(log, stage) }
