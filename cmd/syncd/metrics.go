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
}

// registerBotMetrics exposes the intent bot's counters on /metrics; what it
// answered is counted by the poller at commit (syncd_bot_replies_total,
// syncd_bot_suggestions_total).
func registerBotMetrics(reg prometheus.Registerer, svc *bot.Service) {
	counter := func(name, help string, f func(bot.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(svc.Stats())) })
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
