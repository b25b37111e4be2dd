-- 0001_relay: the relay spine.
--
-- message_sync   the inbound contract. A legacy application needs only
--                INSERT INTO message_sync (conversation_key, body) VALUES (?, ?)
--                and later reads status / last_error. Every other column has a
--                default; the columns after "payload" belong to syncd.
-- conversations  one row per conversation_key: the per-conversation sequence
--                counter that orders chat history, and the console's state.
-- chat_messages  chat history. (source_table, source_id) is unique, so a
--                message_sync row can never appear in history twice.
-- message_reply  the outbound contract: agent and bot replies for the legacy
--                application, which reads status='pending' rows for its
--                conversation_key and marks them 'done'.
--
-- For MySQL 5.7+, MySQL 8 and MariaDB 10.2+; utf8mb4 throughout.

CREATE TABLE message_sync (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  conversation_key VARCHAR(191)    NOT NULL,
  body             MEDIUMTEXT      NOT NULL,
  sender_name      VARCHAR(191)    NULL,
  kind             VARCHAR(64)     NOT NULL DEFAULT 'message' COMMENT 'message, or an event name such as order_created',
  payload          MEDIUMTEXT      NULL COMMENT 'JSON text, optional',
  status           ENUM('pending','processing','sent','failed') NOT NULL DEFAULT 'pending',
  attempts         INT UNSIGNED    NOT NULL DEFAULT 0,
  next_attempt_at  DATETIME(6)     NULL COMMENT 'set only while a retry waits; NULL means due now',
  last_error       TEXT            NULL,
  claim_token      CHAR(32)        NULL COMMENT 'fences the write-back: it must still match',
  claimed_by       VARCHAR(128)    NULL COMMENT 'instance that holds or last held the row',
  lease_until      DATETIME(6)     NULL COMMENT 'a claim older than this may be taken back',
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  processed_at     DATETIME(6)     NULL,
  -- Rows are partitioned by conversation so that one instance at a time
  -- relays a conversation; the bucket is derived, so writers never set it.
  shard_bucket     SMALLINT UNSIGNED AS (CRC32(conversation_key) % 1024) STORED,
  PRIMARY KEY (id),
  -- The claim: status='pending' AND shard_bucket range, oldest id first.
  -- It covers next_attempt_at too, so a claim reads only the index.
  KEY ix_message_sync_claim (status, shard_bucket, id, next_attempt_at),
  -- Rows waiting for a retry (few): they hold back their conversation.
  KEY ix_message_sync_retry (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE conversations (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  conversation_key VARCHAR(191)    NOT NULL,
  last_seq         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  state            ENUM('open','resolved') NOT NULL DEFAULT 'open',
  assignee         VARCHAR(191)    NULL COMMENT 'agent username',
  last_message_at  DATETIME(6)     NULL,
  waiting_since    DATETIME(6)     NULL COMMENT 'oldest customer message not yet answered',
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY ux_conversations_key (conversation_key),
  KEY ix_conversations_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE chat_messages (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  conversation_key VARCHAR(191)    NOT NULL,
  seq              BIGINT UNSIGNED NOT NULL,
  sender_type      ENUM('customer','agent','bot','system') NOT NULL,
  sender_name      VARCHAR(191)    NULL,
  kind             VARCHAR(64)     NOT NULL DEFAULT 'message',
  body             MEDIUMTEXT      NOT NULL,
  payload          MEDIUMTEXT      NULL,
  source_table     VARCHAR(32)     NULL COMMENT 'message_sync for relayed rows',
  source_id        BIGINT UNSIGNED NULL,
  intent           VARCHAR(64)     NULL,
  confidence       DOUBLE          NULL,
  suggestion       TEXT            NULL,
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY ux_chat_messages_source (source_table, source_id),
  UNIQUE KEY ux_chat_messages_seq (conversation_key, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE message_reply (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  conversation_key VARCHAR(191)    NOT NULL,
  body             MEDIUMTEXT      NOT NULL,
  status           ENUM('pending','done') NOT NULL DEFAULT 'pending',
  author_type      ENUM('agent','bot') NOT NULL,
  author_name      VARCHAR(191)    NOT NULL,
  in_reply_to      BIGINT UNSIGNED NULL COMMENT 'message_sync.id answered, where there is one',
  chat_message_id  BIGINT UNSIGNED NULL,
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  done_at          DATETIME(6)     NULL,
  PRIMARY KEY (id),
  -- The legacy reader: status='pending' AND conversation_key=?
  KEY ix_message_reply_pending (conversation_key, status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
