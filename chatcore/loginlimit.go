package chatcore

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/syncd-dev/syncd/chatcore/loginstate"
	"github.com/syncd-dev/syncd/internal/connlimit"
)

// LoginState keeps what the login limiter remembers. loginstate.Memory
// keeps it in this process; loginstate.Redis shares it between instances,
// so that a second instance does not give an attacker more tries.
type LoginState interface {
	// Take takes n tokens (0 only looks) from the bucket named key. It
	// reports whether they were there, how many are left, and, when they
	// were not, how long until they are.
	Take(ctx context.Context, key string, b loginstate.Bucket, n int) (ok bool, left int, retry time.Duration, err error)
	// Reset fills the bucket named key again.
	Reset(ctx context.Context, key string) error
	// Remember marks key for ttl; Remembered reports whether it is marked.
	Remember(ctx context.Context, key string, ttl time.Duration) error
	Remembered(ctx context.Context, key string) (bool, error)
}

// loginLimiter decides whether a login attempt may go on. Its rules make a
// guessing attacker pay, not the agent being guessed at:
//
//  1. Per client address: LoginIPBurst attempts, then 429 for that address.
//  2. Per agent and address: LoginUserBurst attempts, then 429 for that
//     agent from that address only; a login that succeeds there starts it
//     again. The agent at another address is not affected.
//  3. Per agent, from addresses it has not logged in from before:
//     LoginAgentBurst attempts; beyond, such addresses get 429 while the
//     agent's known addresses are answered after LoginSlowDelay, right
//     password or wrong, rather than refused.
//
// Agents are keyed by their username as the database has it (or, for no
// agent, as typed, lower case), so spellings the database compares as equal
// share one bucket; names no agent can have are refused before any lookup.
type loginLimiter struct {
	st  LoginState
	o   *Options
	log *slog.Logger

	slots chan struct{} // answers waiting out LoginSlowDelay

	ok, wrong, slowed                    atomic.Int64
	refusedIP, refusedPair, refusedAgent atomic.Int64
}

// Refusal reasons, in logs and metrics.
const (
	limitAddress      = "address"       // rule 1
	limitAgentAddress = "agent_address" // rule 2
	limitAgent        = "agent"         // rule 3
)

func newLoginLimiter(o *Options) *loginLimiter {
	return &loginLimiter{st: o.LoginState, o: o, log: o.Logger, slots: make(chan struct{}, 64)}
}

// clientKey is the unit a client address is limited by: an IPv4 address or
// an IPv6 /64, which one host usually holds whole.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	return connlimit.ClientPrefix(a).String()
}

// verdict is what the limiter says about one attempt.
type verdict struct {
	by    string        // why it is refused; "" when it may go on
	retry time.Duration // for Retry-After
	slow  time.Duration // wait this long before answering
}

// address applies rule 1, before the agent is looked up.
func (l *loginLimiter) address(ctx context.Context, addr string) verdict {
	ok, _, retry := l.take(ctx, "login:ip:"+addr, loginstate.Bucket{Burst: l.o.LoginIPBurst, Every: l.o.LoginIPEvery}, 1)
	if !ok {
		l.refusedIP.Add(1)
		return verdict{by: limitAddress, retry: retry}
	}
	return verdict{}
}

// agent applies rules 2 and 3 to an attempt for name from addr.
func (l *loginLimiter) agent(ctx context.Context, name, addr string) verdict {
	known, err := l.st.Remembered(ctx, knownKey(name, addr))
	if err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "console login limiter: read known addresses", slog.Any("error", err))
	}
	pair := loginstate.Bucket{Burst: l.o.LoginUserBurst, Every: l.o.LoginUserEvery}
	ok, left, retry := l.take(ctx, "login:pair:"+name+"|"+addr, pair, 1)
	if !ok {
		l.refusedPair.Add(1)
		return verdict{by: limitAgentAddress, retry: retry}
	}
	if left == 0 {
		l.log.LogAttrs(ctx, slog.LevelInfo, "console login limit reached for an agent from one address; that address is refused for the agent",
			slog.String("username", name), slog.String("client", addr), slog.Duration("retry_in", l.o.LoginUserEvery))
	}
	agent := loginstate.Bucket{Burst: l.o.LoginAgentBurst, Every: l.o.LoginUserEvery}
	if known {
		// Rule 3 does not count the agent's own addresses, but while it
		// holds, their answers are slowed: an attacker who shares one
		// (an office's NAT) gains little, the agent still gets in.
		if _, left, _ := l.take(ctx, "login:agent:"+name, agent, 0); left < 1 {
			select {
			case l.slots <- struct{}{}:
				l.slowed.Add(1)
				l.log.LogAttrs(ctx, slog.LevelInfo, "console login from a known address slowed: the agent is being guessed at from other addresses",
					slog.String("username", name), slog.String("client", addr), slog.Duration("delay", l.o.LoginSlowDelay))
				return verdict{slow: l.o.LoginSlowDelay}
			default: // too many waiting already
				l.refusedAgent.Add(1)
				return verdict{by: limitAgent, retry: l.o.LoginSlowDelay}
			}
		}
		return verdict{}
	}
	ok, left, retry = l.take(ctx, "login:agent:"+name, agent, 1)
	if !ok {
		l.refusedAgent.Add(1)
		return verdict{by: limitAgent, retry: retry}
	}
	if left == 0 {
		l.log.LogAttrs(ctx, slog.LevelWarn, "console login limit reached for an agent from new addresses; they are refused, its known addresses slowed",
			slog.String("username", name), slog.String("client", addr), slog.Duration("retry_in", l.o.LoginUserEvery))
	}
	return verdict{}
}

// waited releases the slot a slowed answer held.
func (l *loginLimiter) waited() { <-l.slots }

// succeeded starts the agent's bucket for addr again and remembers addr.
func (l *loginLimiter) succeeded(ctx context.Context, name, addr string) {
	l.ok.Add(1)
	if err := l.st.Reset(ctx, "login:pair:"+name+"|"+addr); err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "console login limiter: reset", slog.Any("error", err))
	}
	if err := l.st.Remember(ctx, knownKey(name, addr), l.o.LoginKnownFor); err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "console login limiter: remember address", slog.Any("error", err))
	}
}

func knownKey(name, addr string) string { return "login:known:" + name + "|" + addr }

// take is LoginState.Take that lets an attempt go on when the state cannot
// be read (loginstate.Redis falls back to memory itself; this is the last
// resort), and says so.
func (l *loginLimiter) take(ctx context.Context, key string, b loginstate.Bucket, n int) (bool, int, time.Duration) {
	ok, left, retry, err := l.st.Take(ctx, key, b, n)
	if err != nil {
		l.log.LogAttrs(ctx, slog.LevelWarn, "console login limiter: read bucket", slog.String("key", key), slog.Any("error", err))
		return true, 1, 0
	}
	return ok, left, retry
}

// LoginStats are the limiter's counters.
type LoginStats struct {
	OK, Wrong    int64 // answered attempts: logged in, wrong password or name
	Slowed       int64 // answered after LoginSlowDelay (rule 3, known address)
	RefusedIP    int64 // 429 by rule 1
	RefusedPair  int64 // 429 by rule 2
	RefusedAgent int64 // 429 by rule 3
}

func (l *loginLimiter) stats() LoginStats {
	return LoginStats{OK: l.ok.Load(), Wrong: l.wrong.Load(), Slowed: l.slowed.Load(),
		RefusedIP: l.refusedIP.Load(), RefusedPair: l.refusedPair.Load(), RefusedAgent: l.refusedAgent.Load()}
}
