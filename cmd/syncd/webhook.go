package main

import (
	"context"
	"log/slog"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"

	"github.com/syncd-dev/syncd/config"
	"github.com/syncd-dev/syncd/lock"
	"github.com/syncd-dev/syncd/store"
	"github.com/syncd-dev/syncd/webhook"
)

// startWebhook runs the delivery worker in a scope of life when
// webhook.url is set; it stops before the database closes.
func startWebhook(ctx context.Context, life *lifecycle, cfg config.Config, s *store.Store, locker lock.Locker,
	instance string, reg prometheus.Registerer, log *slog.Logger) error {
	wc := cfg.Webhook
	if !wc.Enabled() {
		return nil
	}
	w, err := webhook.New(webhook.Options{
		Store: s, Locker: locker, Metrics: webhook.NewMetrics(reg), Logger: log, Instance: instance,
		URL: wc.URL, Secret: wc.Secret, UserAgent: "syncd/" + buildVersion(),
		Timeout: wc.Timeout, MaxAttempts: wc.MaxAttempts, BackoffBase: wc.BackoffBase, BackoffMax: wc.BackoffMax,
		Lease: wc.Lease, BatchSize: wc.BatchSize, Interval: wc.Interval,
	})
	if err != nil {
		return cli.Exit("invalid configuration: "+err.Error(), 2)
	}
	shown := wc.URL
	if u, err := url.Parse(wc.URL); err == nil {
		shown = u.Redacted()
	}
	log.Info("delivering replies to the webhook", slog.String("url", shown))
	s.SetWebhookDelivery(true) // retention keeps replies until they are delivered
	wctx, wg := life.scope(ctx, "webhook", nil)
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(wctx) }()
	return nil
}
