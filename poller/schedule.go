package poller

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parseSchedule accepts cron specs with an optional seconds field and
// descriptors such as @every 1s. cron's own @every rounds below a second up
// to one second; a sub-second @every gets its own schedule so that a low
// latency setting (e.g. @every 100ms) does what it says.
func parseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("parse schedule %q: want @every <duration>, e.g. @every 1s", spec)
		}
		if d < time.Second {
			return every(d), nil
		}
	}
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	s, err := p.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("parse schedule %q: %w", spec, err)
	}
	return s, nil
}

type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }
