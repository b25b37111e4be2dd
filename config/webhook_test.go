package config

import (
	"strings"
	"testing"
)

func TestWebhookKeysValidated(t *testing.T) {
	const url, secret = "SYNCD_WEBHOOK_URL=https://erp.example.com/hook", "SYNCD_WEBHOOK_SECRET=0123456789abcdef"
	for _, tc := range []struct {
		env []string
		key string
	}{
		{[]string{"SYNCD_WEBHOOK_URL=erp.example.com/hook", secret}, "webhook.url"},
		{[]string{"SYNCD_WEBHOOK_URL=ftp://erp.example.com/", secret}, "webhook.url"},
		{[]string{secret}, "webhook.url"}, // a secret without a URL is a mistake
		{[]string{url}, "webhook.secret"},
		{[]string{url, "SYNCD_WEBHOOK_SECRET=short"}, "webhook.secret"},
		{[]string{url, secret, "SYNCD_WEBHOOK_TIMEOUT=0s"}, "webhook.timeout"},
		{[]string{url, secret, "SYNCD_WEBHOOK_MAX_ATTEMPTS=0"}, "webhook.max_attempts"},
		{[]string{url, secret, "SYNCD_WEBHOOK_BACKOFF_BASE=1ms"}, "webhook.backoff_base"},
		{[]string{url, secret, "SYNCD_WEBHOOK_BACKOFF_MAX=100ms"}, "webhook.backoff_max"},
		{[]string{url, secret, "SYNCD_WEBHOOK_BACKOFF_MAX=8760h"}, "webhook.backoff_max"},
		{[]string{url, secret, "SYNCD_WEBHOOK_TIMEOUT=1m", "SYNCD_WEBHOOK_LEASE=90s"}, "webhook.lease"},
		{[]string{url, secret, "SYNCD_WEBHOOK_BATCH_SIZE=0"}, "webhook.batch_size"},
		{[]string{url, secret, "SYNCD_WEBHOOK_INTERVAL=0s"}, "webhook.interval"},
	} {
		_, _, err := Load("", tc.env)
		if err == nil || !strings.Contains(err.Error(), "config key "+tc.key+" (env "+EnvName(tc.key)+")") {
			t.Errorf("%v: error %v does not name %s and its variable", tc.env, err, tc.key)
		}
	}
	cfg, _, err := Load("", []string{url, secret})
	if err != nil || !cfg.Webhook.Enabled() || cfg.Webhook.Timeout <= 0 {
		t.Errorf("a URL and a secret: %+v, %v", cfg.Webhook, err)
	}
	if cfg, _, err := Load("", nil); err != nil || cfg.Webhook.Enabled() {
		t.Errorf("default: webhook enabled %v, %v; want off", cfg.Webhook.Enabled(), err)
	}
}
