package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/syncd-dev/syncd/store"
)

// Payload is the JSON body of a delivery (docs/protocol.md).
type Payload struct {
	ID              int64     `json:"id"`   // message_reply.id, also in Syncd-Delivery
	Type            string    `json:"type"` // "reply"
	ConversationKey string    `json:"conversation_key"`
	AuthorType      string    `json:"author_type"` // agent or bot
	AuthorName      string    `json:"author_name"`
	Body            string    `json:"body"`
	InReplyTo       *int64    `json:"in_reply_to"` // message_sync.id answered; null for none
	ChatMessageID   int64     `json:"chat_message_id,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// PayloadOf is the body syncd POSTs for a reply.
func PayloadOf(d store.Delivery) Payload {
	p := Payload{ID: d.ID, Type: "reply", ConversationKey: d.ConversationKey, AuthorType: d.AuthorType,
		AuthorName: d.AuthorName, Body: d.Body, ChatMessageID: d.ChatMessageID, CreatedAt: d.CreatedAt.UTC()}
	if d.InReplyTo != 0 {
		v := d.InReplyTo
		p.InReplyTo = &v
	}
	return p
}

// maxResponseBytes is what is read of a receiver's answer: enough to keep
// the connection for reuse after a short answer, never a stranger's
// gigabyte.
const maxResponseBytes = 64 << 10

// outcome is what one POST came to.
type outcome struct {
	delivered  bool
	permanent  bool          // the receiver refused it (4xx): no retry
	retryAfter time.Duration // the receiver's Retry-After, if any
	err        string
}

// sender POSTs signed deliveries.
type sender struct {
	url     string
	shown   string // url without a password, for errors
	secret  []byte
	client  *http.Client
	agent   string
	timeout time.Duration
}

func newSender(rawURL string, secret []byte, timeout time.Duration, userAgent string) (*sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook url %q: want http:// or https:// with a host", rawURL)
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   min(timeout, 10*time.Second),
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	c := &http.Client{
		Transport: tr,
		Timeout:   timeout, // the whole exchange, answer included
		// A redirect is followed only to the same host and never from
		// https to http: the URL is the operator's, a redirect the
		// receiver's, and a signed reply must not be sent elsewhere.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			first := via[0].URL
			switch {
			case len(via) > 3:
				return fmt.Errorf("stopped after %d redirects", len(via))
			case req.URL.Host != first.Host:
				return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
			case first.Scheme == "https" && req.URL.Scheme != "https":
				return errors.New("redirect from https to http refused")
			}
			return nil
		},
	}
	return &sender{url: u.String(), shown: u.Redacted(), secret: secret, client: c, agent: userAgent, timeout: timeout}, nil
}

// post sends one delivery; attempt counts from 1.
func (s *sender) post(ctx context.Context, d store.Delivery, attempt int) outcome {
	body, err := json.Marshal(PayloadOf(d))
	if err != nil {
		return outcome{permanent: true, err: fmt.Sprintf("encode payload: %v", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return outcome{permanent: true, err: fmt.Sprintf("make request: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.agent)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(HeaderSignature, Sign(s.secret, time.Now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return outcome{err: fmt.Sprintf("POST %s: no answer within webhook.timeout (%s)", s.shown, s.timeout)}
		}
		if errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "redirect") {
			return outcome{permanent: true, err: fmt.Sprintf("POST %s: %v", s.shown, ue.Err)}
		}
		return outcome{err: fmt.Sprintf("POST %s: %v", s.shown, redact(err, s.url, s.shown))}
	}
	defer resp.Body.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(resp.Body, head)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return outcome{delivered: true}
	}
	o := outcome{err: fmt.Sprintf("POST %s: %s", s.shown, resp.Status)}
	if text := strings.TrimSpace(strings.ToValidUTF8(string(head[:n]), "")); text != "" {
		o.err += ": " + text
	}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec > 0 {
			o.retryAfter = time.Duration(sec) * time.Second
		}
	default:
		// 4xx (and a 3xx not followed): the receiver will say the same
		// again. The reply is failed with its answer in last_error.
		o.permanent = true
	}
	return o
}

// redact replaces the URL in a transport error by its redacted form.
func redact(err error, full, shown string) string {
	return strings.ReplaceAll(err.Error(), full, shown)
}
