-- 0004_claims: a table of the claims in flight, one row per claimed batch.
--
-- Every relayed row passes through status 'processing', so under a fast
-- relay the 'processing' range of ix_message_sync_claim fills with entries
-- InnoDB has not purged yet (hundreds of thousands while a million-row
-- backlog drains). Finding abandoned claims, or conversations held by a
-- claim in flight, by scanning that range then took seconds to minutes.
-- This table holds only live claims (a row per batch of up to
-- poller.batch_size rows, deleted when the batch commits), so those
-- questions read a few rows. Only when it names a claim in flight, which
-- is rare (a holder died or was paused), does syncd read that claim's rows,
-- by token within its shard. message_sync gets no index on claim_token:
-- maintaining one cost every claimed row two more index writes.
--
-- Rows already processing when this runs are recorded, so a claim made by
-- an older syncd is still taken back if its holder is gone.

CREATE TABLE message_sync_claims (
  claim_token  CHAR(32)          NOT NULL,
  claimed_by   VARCHAR(128)      NOT NULL,
  -- The claim's shard, as the range of message_sync.shard_bucket it covers.
  bucket_lo    SMALLINT UNSIGNED NOT NULL,
  bucket_hi    SMALLINT UNSIGNED NOT NULL COMMENT 'exclusive',
  lease_until  DATETIME(6)       NOT NULL,
  created_at   DATETIME(6)       NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (claim_token)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO message_sync_claims (claim_token, claimed_by, bucket_lo, bucket_hi, lease_until)
SELECT claim_token, COALESCE(MAX(claimed_by), ''), MIN(shard_bucket), MAX(shard_bucket) + 1,
       COALESCE(MAX(lease_until), CURRENT_TIMESTAMP(6))
FROM message_sync
WHERE status = 'processing' AND claim_token IS NOT NULL
GROUP BY claim_token;
