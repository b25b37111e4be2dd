package config

import (
	"fmt"
	"net/url"
	"time"
)

// Webhook is the optional outbound webhook: agent and bot replies POSTed
// to URL, signed with Secret. Empty URL: off.
type Webhook struct {
	URL         string        `yaml:"url"`
	Secret      string        `yaml:"secret"`
	Timeout     time.Duration `yaml:"timeout"`
	MaxAttempts int           `yaml:"max_attempts"`
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	Lease       time.Duration `yaml:"lease"`
	BatchSize   int           `yaml:"batch_size"`
	Interval    time.Duration `yaml:"interval"`
}

// Enabled reports whether replies are POSTed.
func (w Webhook) Enabled() bool { return w.URL != "" }

func defaultWebhook() Webhook {
	return Webhook{Timeout: 10 * time.Second, MaxAttempts: 20, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
		Lease: 2 * time.Minute, BatchSize: 20, Interval: time.Second}
}

func (w Webhook) validate() error {
	bad := func(key, format string, args ...any) error {
		return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if !w.Enabled() {
		if w.Secret != "" {
			return bad("webhook.url", "is empty but webhook.secret is set: give the receiver's URL, or unset the secret")
		}
		return nil
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("webhook.url", "want an http:// or https:// URL with a host, e.g. https://erp.example.com/syncd/replies")
	}
	if len(w.Secret) < 16 {
		return bad("webhook.secret", "must be at least 16 characters when webhook.url is set (receivers check the signature with it)")
	}
	if err := between("webhook.timeout", w.Timeout, 100*time.Millisecond, 5*time.Minute); err != nil {
		return err
	}
	if w.MaxAttempts < 1 || w.MaxAttempts > 1000 {
		return bad("webhook.max_attempts", "must be between 1 and 1000, got %d", w.MaxAttempts)
	}
	if err := between("webhook.backoff_base", w.BackoffBase, 10*time.Millisecond, time.Hour); err != nil {
		return err
	}
	if err := between("webhook.backoff_max", w.BackoffMax, w.BackoffBase, maxBackoff); err != nil {
		return err
	}
	// A reply is POSTed only while its claim's lease outlasts the POST
	// and its write-back: a shorter lease could never deliver one.
	if err := between("webhook.lease", w.Lease, 2*w.Timeout, time.Hour); err != nil {
		return fmt.Errorf("%w (at least twice webhook.timeout)", err)
	}
	if w.BatchSize < 1 || w.BatchSize > 1000 {
		return bad("webhook.batch_size", "must be between 1 and 1000, got %d", w.BatchSize)
	}
	return between("webhook.interval", w.Interval, 10*time.Millisecond, time.Hour)
}
