package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd-dev/syncd/bot"
	"github.com/syncd-dev/syncd/chatcore"
)

// registerConsoleMetrics exposes the console's counters on /metrics.
func registerConsoleMetrics(reg prometheus.Registerer, core *chatcore.Core) {
	stat := func(f func(chatcore.Stats) int64) func() float64 {
		return func() float64 { return float64(f(core.Stats())) }
	}
	dropped := func(stage string, f func(chatcore.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "syncd_console_events_dropped_total",
			Help: "Console events between instances dropped (broker outage or full buffer); the sweep delivers what they carried. " +
				"stage=publish: not handed to the broker; stage=render: a conversation change not shown on this instance's sockets.",
			ConstLabels: prometheus.Labels{"stage": stage},
		}, stat(f))
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "syncd_console_connections",
			Help: "Open console WebSockets on this instance."},
			stat(func(s chatcore.Stats) int64 { return int64(s.Connections) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncd_console_slow_closed_total",
			Help: "Console WebSockets closed for not keeping up with their messages (4008)."},
			stat(func(s chatcore.Stats) int64 { return s.SlowClosed })),
		dropped("publish", func(s chatcore.Stats) int64 { return s.PublishDropped }),
		dropped("render", func(s chatcore.Stats) int64 { return s.ChangesDropped }),
	)
	const breaches = "Customer waits that broke a response-time target (console.sla), each counted by one instance: " +
		"target=first_response before any agent answered, target=reply after."
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncd_console_sla_breaches_total", Help: breaches,
			ConstLabels: prometheus.Labels{"target": chatcore.SLAFirstResponse}},
			stat(func(s chatcore.Stats) int64 { return s.SLA.FirstResponseBreaches })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncd_console_sla_breaches_total", Help: breaches,
			ConstLabels: prometheus.Labels{"target": chatcore.SLAReply}},
			stat(func(s chatcore.Stats) int64 { return s.SLA.ReplyBreaches })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncd_console_sla_returned_total",
			Help: "Conversations taken from an assignee who did not reply within the reply target (to Unassigned or the next agent)."},
			stat(func(s chatcore.Stats) int64 { return s.SLA.Returned })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "syncd_console_auto_assigned_total",
			Help: "Conversations this instance gave to an agent by auto-assignment (console.assignment)."},
			stat(func(s chatcore.Stats) int64 { return s.SLA.AutoAssigned })),
	)
	logins := func(name, help string, labels prometheus.Labels, f func(chatcore.LoginStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			stat(func(s chatcore.Stats) int64 { return f(s.Logins) }))
	}
	const answered = "Console login attempts answered: result=ok logged in, result=wrong a wrong username or password."
	const refused = "Console login attempts refused by the limiter (429): by=address too many from one client address, " +
		"by=agent_address too many for one agent from one address, by=agent too many for one agent from addresses it never logged in from."
	reg.MustRegister(
		logins("syncd_console_logins_total", answered, prometheus.Labels{"result": "ok"}, func(s chatcore.LoginStats) int64 { return s.OK }),
		logins("syncd_console_logins_total", answered, prometheus.Labels{"result": "wrong"}, func(s chatcore.LoginStats) int64 { return s.Wrong }),
		logins("syncd_console_logins_refused_total", refused, prometheus.Labels{"by": "address"}, func(s chatcore.LoginStats) int64 { return s.RefusedIP }),
		logins("syncd_console_logins_refused_total", refused, prometheus.Labels{"by": "agent_address"}, func(s chatcore.LoginStats) int64 { return s.RefusedPair }),
		logins("syncd_console_logins_refused_total", refused, prometheus.Labels{"by": "agent"}, func(s chatcore.LoginStats) int64 { return s.RefusedAgent }),
		logins("syncd_console_logins_slowed_total", "Console logins from an agent's known address answered after a delay, because the agent was being guessed at from other addresses.",
			nil, func(s chatcore.LoginStats) int64 { return s.Slowed }),
	)
}

// registerBotMetrics exposes the intent bot's counters on /metrics; what it
// answered is counted by the poller at commit (syncd_bot_replies_total,
// syncd_bot_suggestions_total).
func registerBotMetrics(reg prometheus.Registerer, stats func() bot.Stats) {
	counter := func(name, help string, f func(bot.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(stats())) })
	}
	reg.MustRegister(
		counter("syncd_bot_classified_total", "Customer messages the bot labelled with an intent (each time a relay batch is assessed).",
			func(s bot.Stats) int64 { return s.Classified }),
		counter("syncd_bot_cache_hits_total", "Labelled customer messages answered from the bot's cache.",
			func(s bot.Stats) int64 { return s.CacheHits }),
		counter("syncd_bot_reload_failures_total", "Model or answers files that did not load on a reload; the previous ones stay in force.",
			func(s bot.Stats) int64 { return s.ReloadFailures }),
	)
}
