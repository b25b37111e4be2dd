-- 0016_webhooks: the delivery state of outbound webhooks, kept with each
-- message_reply row (SQLite). See sql/mysql/0016_webhooks.sql for why each
-- column is there.
--
-- Index ix_message_reply_delivery (delivery_status, id) serves the claim
-- (delivery_status='pending', oldest first), the take-back of expired
-- leases ('processing') and the backlog gauge; delivered and failed rows
-- sit in ranges none of them reads. Cost: two small index updates per
-- reply (claim, result); building it reads the table once.

ALTER TABLE message_reply ADD COLUMN delivery_status TEXT NULL
  CHECK (delivery_status IN ('pending','processing','delivered','failed'));
ALTER TABLE message_reply ADD COLUMN attempts INTEGER NULL;
ALTER TABLE message_reply ADD COLUMN last_error TEXT NULL;
ALTER TABLE message_reply ADD COLUMN next_attempt_at DATETIME NULL;
ALTER TABLE message_reply ADD COLUMN delivered_at DATETIME NULL;
ALTER TABLE message_reply ADD COLUMN claim_token TEXT NULL;
ALTER TABLE message_reply ADD COLUMN claimed_by TEXT NULL;
ALTER TABLE message_reply ADD COLUMN lease_until DATETIME NULL;
CREATE INDEX ix_message_reply_delivery ON message_reply (delivery_status, id);
