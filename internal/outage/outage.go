// Package outage logs a failing stage (a database, Redis or a webhook
// receiver that is down) when the failure starts, once a minute while it
// lasts, and when it ends, instead of once per attempt.
package outage

import (
	"log/slog"
	"sync"
	"time"
)

// Log tracks stages by name; the zero value is ready to use.
type Log struct {
	failing sync.Map // stage → *stage
}

type stage struct {
	mu         sync.Mutex
	since      time.Time
	lastLogged time.Time
	suppressed int
}

// Warn records a failure of stage and logs it unless it was logged less
// than a minute ago (then it is counted in the next line's suppressed).
func (l *Log) Warn(log *slog.Logger, name, msg string, err error, attrs ...any) {
	v, _ := l.failing.LoadOrStore(name, &stage{})
	o := v.(*stage)
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if o.since.IsZero() {
		o.since = now
	}
	if now.Sub(o.lastLogged) < time.Minute {
		o.suppressed++
		return
	}
	log.Warn(msg, append(attrs, slog.Any("error", err), slog.Int("suppressed", o.suppressed),
		slog.Duration("failing_for", now.Sub(o.since).Round(time.Millisecond)))...)
	o.lastLogged, o.suppressed = now, 0
}

// OK records that stage works, and logs its recovery if it was failing.
func (l *Log) OK(log *slog.Logger, name string) {
	v, found := l.failing.Load(name)
	if !found {
		return
	}
	o := v.(*stage)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return
	}
	log.Info("recovered", slog.String("stage", name), slog.Duration("failed_for", time.Since(o.since).Round(time.Millisecond)))
	o.since, o.lastLogged, o.suppressed = time.Time{}, time.Time{}, 0
}
