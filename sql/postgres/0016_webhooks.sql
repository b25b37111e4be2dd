-- 0016_webhooks: the delivery state of outbound webhooks, kept with each
-- message_reply row (PostgreSQL). See sql/mysql/0016_webhooks.sql for why
-- each column is there.
--
-- Index ix_message_reply_delivery (delivery_status, id) serves the claim
-- (delivery_status='pending', oldest first), the take-back of expired
-- leases ('processing') and the backlog gauge; delivered and failed rows
-- sit in ranges none of them reads. Cost: two small index updates per
-- reply (claim, result). Adding nullable columns without defaults only
-- changes the catalog; CREATE INDEX blocks writes to message_reply while it
-- builds (seconds on a few million rows). On a large table, build it first
-- without blocking writers, outside a transaction:
--   CREATE INDEX CONCURRENTLY ix_message_reply_delivery
--     ON message_reply (delivery_status, id);
-- and this migration then finds it (IF NOT EXISTS).

ALTER TABLE message_reply
  ADD COLUMN IF NOT EXISTS delivery_status VARCHAR(16) NULL
    CHECK (delivery_status IN ('pending','processing','delivered','failed')),
  ADD COLUMN IF NOT EXISTS attempts        INTEGER        NULL,
  ADD COLUMN IF NOT EXISTS last_error      TEXT           NULL,
  ADD COLUMN IF NOT EXISTS next_attempt_at TIMESTAMPTZ(6) NULL,
  ADD COLUMN IF NOT EXISTS delivered_at    TIMESTAMPTZ(6) NULL,
  ADD COLUMN IF NOT EXISTS claim_token     CHAR(32)       NULL,
  ADD COLUMN IF NOT EXISTS claimed_by      VARCHAR(128)   NULL,
  ADD COLUMN IF NOT EXISTS lease_until     TIMESTAMPTZ(6) NULL;
COMMENT ON COLUMN message_reply.delivery_status IS 'webhook delivery; NULL: written before 0016_webhooks, never delivered';
COMMENT ON COLUMN message_reply.claim_token IS 'fences the delivery write-back: it must still match';
CREATE INDEX IF NOT EXISTS ix_message_reply_delivery ON message_reply (delivery_status, id);
