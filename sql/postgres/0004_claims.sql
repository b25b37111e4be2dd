-- 0004_claims: a table of the claims in flight, one row per claimed batch
-- (PostgreSQL).
--
-- Every relayed row passes through status 'processing'. Finding abandoned
-- claims, or conversations held by a claim in flight, by reading the
-- 'processing' range of ix_message_sync_claim would meet the dead index
-- entries a draining backlog leaves until vacuum. This table holds only
-- live claims (a row per batch of up to poller.batch_size rows, deleted
-- when the batch commits), so those questions read a few rows. Only when it
-- names a claim in flight, which is rare (a holder died or was paused),
-- does syncd read that claim's rows, by token within its shard.
-- message_sync gets no index on claim_token: it would cost every claimed
-- row more index writes.

CREATE TABLE message_sync_claims (
  claim_token  CHAR(32)       NOT NULL PRIMARY KEY,
  claimed_by   VARCHAR(128)   NOT NULL,
  -- The claim's shard, as the range of message_sync.shard_bucket it covers.
  bucket_lo    SMALLINT       NOT NULL,
  bucket_hi    SMALLINT       NOT NULL,
  lease_until  TIMESTAMPTZ(6) NOT NULL,
  created_at   TIMESTAMPTZ(6) NOT NULL DEFAULT now()
)
-- Rows live for one batch: vacuum the table often so it stays a few pages.
WITH (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000);
COMMENT ON COLUMN message_sync_claims.bucket_hi IS 'exclusive';
