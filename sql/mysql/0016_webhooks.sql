-- 0016_webhooks: the delivery state of outbound webhooks, kept with each
-- message_reply row.
--
-- Why. A system that can take HTTP need not poll message_reply: with
-- webhook.url set, syncd POSTs every agent and bot reply to it. The legacy
-- contract is untouched: status ('pending'/'done') and done_at stay the
-- legacy application's, and webhook delivery has columns of its own.
--
--   delivery_status  NULL: not for a webhook (written before this
--                    migration); 'pending': to deliver (every reply syncd
--                    writes from now on, webhook configured or not);
--                    'processing': claimed by an instance that is POSTing it;
--                    'delivered' (delivered_at set) or 'failed' (a 4xx
--                    answer, or webhook.max_attempts reached; last_error
--                    says why).
--   attempts, last_error, next_attempt_at
--                    POSTs made, the last one's error, and when the next
--                    retry (exponential backoff) is due; NULL: due now.
--   claim_token, claimed_by, lease_until
--                    the claim, as on message_sync: an instance marks rows
--                    'processing' with a fresh token and a lease, and writes
--                    the result back only where the token still matches; a
--                    row whose lease ran out (its holder died) goes back to
--                    'pending' and is delivered again: at least once, with
--                    the header Syncd-Delivery (message_reply.id) for the
--                    receiver to drop a repeat.
--
-- Index ix_message_reply_delivery (delivery_status, id) serves the three
-- statements of the delivery worker: the claim (delivery_status='pending',
-- oldest first by id, next_attempt_at checked on the few entries read), the
-- take-back of expired leases (delivery_status='processing', a handful of
-- rows) and the backlog gauge (COUNT of the 'pending' and 'processing'
-- ranges). Delivered and failed rows sit in ranges of their own that none
-- of them reads, so the index entries of years of delivered replies cost
-- disk, not time. The cost: each reply's entry is rewritten at its claim
-- and at its result (two small index updates per reply); a deployment
-- without a webhook keeps its replies' entries in the 'pending' range
-- (nobody claims them; see README "Outbound webhooks" to skip them before
-- turning a webhook on).
--
-- What it costs to apply: nullable columns without defaults (instant on
-- MariaDB 10.3+ and MySQL 8.0.12+); the index is built in place while
-- reads and writes go on (ALGORITHM=INPLACE, LOCK=NONE), all of its
-- entries NULL at first.

ALTER TABLE message_reply
  ADD COLUMN delivery_status ENUM('pending','processing','delivered','failed') NULL
    COMMENT 'webhook delivery; NULL: written before 0016_webhooks, never delivered',
  ADD COLUMN attempts        INT UNSIGNED NULL COMMENT 'webhook POSTs made',
  ADD COLUMN last_error      TEXT         NULL COMMENT 'the last webhook POST''s error',
  ADD COLUMN next_attempt_at DATETIME(6)  NULL COMMENT 'set only while a webhook retry waits',
  ADD COLUMN delivered_at    DATETIME(6)  NULL COMMENT 'when the webhook receiver took it (2xx)',
  ADD COLUMN claim_token     CHAR(32)     NULL COMMENT 'fences the delivery write-back: it must still match',
  ADD COLUMN claimed_by      VARCHAR(128) NULL COMMENT 'instance that holds or last held the delivery',
  ADD COLUMN lease_until     DATETIME(6)  NULL COMMENT 'a delivery claim older than this may be taken back',
  ADD KEY ix_message_reply_delivery (delivery_status, id);
