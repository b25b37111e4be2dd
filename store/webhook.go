package store

import (
	"context"
	"time"

	"github.com/syncd-dev/syncd/chat/history"
)

// Webhook delivery of message_reply: the statements are chat/history's,
// the writer of message_reply; these run them on the store's pool.

type (
	// Delivery is a claimed reply to POST.
	Delivery = history.Delivery
	// DeliveryResult is what became of one POST.
	DeliveryResult = history.DeliveryResult
)

// ErrDeliveryLost: see history.ErrDeliveryLost.
var ErrDeliveryLost = history.ErrDeliveryLost

// DeliveryClaim is a batch of replies held under one token until
// LeaseUntil.
type DeliveryClaim struct {
	Token      string
	LeaseUntil time.Time
	Replies    []Delivery
}

// ClaimDeliveries claims up to limit replies due for delivery for lease.
func (s *Store) ClaimDeliveries(ctx context.Context, claimer string, limit int, lease time.Duration) (*DeliveryClaim, error) {
	token, err := newToken()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	c := &DeliveryClaim{Token: token, LeaseUntil: now.Add(lease)}
	c.Replies, err = history.New(s.d).ClaimDeliveries(s.db.WithContext(ctx), token, claimer, limit, now, c.LeaseUntil)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FinishDelivery writes the result of one POST of a claimed reply, fenced
// by the claim's token; ErrDeliveryLost means nothing was written.
func (s *Store) FinishDelivery(ctx context.Context, c *DeliveryClaim, id int64, r DeliveryResult) error {
	return history.New(s.d).FinishDelivery(s.db.WithContext(ctx), id, c.Token, r, time.Now())
}

// ReleaseDeliveries returns replies of the claim not POSTed to pending.
func (s *Store) ReleaseDeliveries(ctx context.Context, c *DeliveryClaim, ids []int64) (int64, error) {
	return history.New(s.d).ReleaseDeliveries(s.db.WithContext(ctx), c.Token, ids)
}

// TakeBackDeliveries returns replies whose delivery lease ran out to
// pending.
func (s *Store) TakeBackDeliveries(ctx context.Context) (int64, error) {
	return history.New(s.d).TakeBackDeliveries(s.db.WithContext(ctx), time.Now())
}

// DeliveryBacklog counts the replies waiting for delivery.
func (s *Store) DeliveryBacklog(ctx context.Context) (int64, error) {
	return history.New(s.d).DeliveryBacklog(s.db.WithContext(ctx))
}
