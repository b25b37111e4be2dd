// Package schedule parses poller.schedule, for the poller that runs it and
// the configuration that checks it at load.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse accepts cron specs with an optional seconds field and descriptors
// such as @every 1s. @every gets its own schedule: cron's rounds to whole
// seconds, so @every 100ms or @every 1500ms would not do what they say. A spec that parses but
// never fires (0 0 30 2 *) is refused: a poller on it would never poll.
func Parse(spec string) (s cron.Schedule, err error) {
	const want = "want a cron spec such as */5 * * * * * or @every <duration> such as @every 1s"
	spec = strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("want @every <positive duration> such as @every 1s or @every 100ms, got %q", spec)
		}
		return every(d), nil
	}
	// cron v3 panics on a TZ= or CRON_TZ= prefix with nothing after it.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%s, got %q", want, spec)
		}
	}()
	s, err = parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%s, got %q: %w", want, spec, err)
	}
	if s.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%q never fires", spec)
	}
	return s, nil
}

type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }
