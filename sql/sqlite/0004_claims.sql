-- 0004_claims: a table of the claims in flight, one row per claimed batch.
--
-- Finding abandoned claims, or conversations held by a claim in flight,
-- used to scan the 'processing' part of ix_message_sync_claim; on MySQL
-- and MariaDB that range fills with unpurged entries under a fast relay.
-- This table holds only live claims (a row per batch, deleted when the
-- batch commits); only when it names a claim in flight, which is rare, are
-- that claim's rows read, by token within its shard.
-- Rows already processing when this runs are recorded, so a claim made by
-- an older syncd is still taken back if its holder is gone.

CREATE TABLE message_sync_claims (
  claim_token  TEXT     NOT NULL PRIMARY KEY,
  claimed_by   TEXT     NOT NULL,
  bucket_lo    INTEGER  NOT NULL, -- the claim's shard: a range of
  bucket_hi    INTEGER  NOT NULL, -- message_sync.shard_bucket, hi exclusive
  lease_until  DATETIME NOT NULL,
  created_at   DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);

INSERT INTO message_sync_claims (claim_token, claimed_by, bucket_lo, bucket_hi, lease_until)
SELECT claim_token, COALESCE(MAX(claimed_by), ''), MIN(shard_bucket), MAX(shard_bucket) + 1,
       COALESCE(MAX(lease_until), strftime('%Y-%m-%d %H:%M:%f', 'now'))
FROM message_sync
WHERE status = 'processing' AND claim_token IS NOT NULL
GROUP BY claim_token;
