-- 0001_relay: the relay spine (SQLite, the embedded default).
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
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'. Needs SQLite 3.31+.

CREATE TABLE message_sync (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_key TEXT    NOT NULL,
  body             TEXT    NOT NULL,
  sender_name      TEXT    NULL,
  kind             TEXT    NOT NULL DEFAULT 'message',
  payload          TEXT    NULL,
  status           TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending','processing','sent','failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  DATETIME NULL,
  last_error       TEXT    NULL,
  claim_token      TEXT    NULL,
  claimed_by       TEXT    NULL,
  lease_until      DATETIME NULL,
  created_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  processed_at     DATETIME NULL,
  -- SQLite has no CRC32; any stable spread over 0..1023 will do, since the
  -- bucket only decides which shard (and so which lock) relays a conversation.
  shard_bucket     INTEGER GENERATED ALWAYS AS ((
                     coalesce(unicode(substr(conversation_key, -1, 1)), 0) * 7919 +
                     coalesce(unicode(substr(conversation_key, -2, 1)), 0) * 104729 +
                     coalesce(unicode(substr(conversation_key, -3, 1)), 0) * 31 +
                     coalesce(unicode(substr(conversation_key, 1, 1)), 0) * 131 +
                     length(conversation_key) * 17) % 1024) STORED
);
CREATE INDEX ix_message_sync_claim ON message_sync (status, shard_bucket, id, next_attempt_at);
CREATE INDEX ix_message_sync_retry ON message_sync (status, next_attempt_at);

CREATE TABLE conversations (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_key TEXT    NOT NULL UNIQUE,
  last_seq         INTEGER NOT NULL DEFAULT 0,
  state            TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open','resolved')),
  assignee         TEXT    NULL,
  last_message_at  DATETIME NULL,
  waiting_since    DATETIME NULL,
  created_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX ix_conversations_updated ON conversations (updated_at);

CREATE TABLE chat_messages (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_key TEXT    NOT NULL,
  seq              INTEGER NOT NULL,
  sender_type      TEXT    NOT NULL CHECK (sender_type IN ('customer','agent','bot','system')),
  sender_name      TEXT    NULL,
  kind             TEXT    NOT NULL DEFAULT 'message',
  body             TEXT    NOT NULL,
  payload          TEXT    NULL,
  source_table     TEXT    NULL,
  source_id        INTEGER NULL,
  intent           TEXT    NULL,
  confidence       REAL    NULL,
  suggestion       TEXT    NULL,
  created_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE UNIQUE INDEX ux_chat_messages_source ON chat_messages (source_table, source_id);
CREATE UNIQUE INDEX ux_chat_messages_seq ON chat_messages (conversation_key, seq);

CREATE TABLE message_reply (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_key TEXT    NOT NULL,
  body             TEXT    NOT NULL,
  status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','done')),
  author_type      TEXT    NOT NULL CHECK (author_type IN ('agent','bot')),
  author_name      TEXT    NOT NULL,
  in_reply_to      INTEGER NULL,
  chat_message_id  INTEGER NULL,
  created_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  done_at          DATETIME NULL
);
CREATE INDEX ix_message_reply_pending ON message_reply (conversation_key, status, id);
