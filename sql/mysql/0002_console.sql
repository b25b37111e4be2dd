-- 0002_console: the agent console.
--
-- console_agents  who may log in to the console (`syncd agent add`). Passwords
--                 are bcrypt hashes; there are no default accounts.
--                 session_version is raised by `syncd agent passwd` and
--                 `syncd agent disable`, which ends every session the agent
--                 holds on every instance.
-- console_reads   one read marker per agent and conversation: the highest seq
--                 the agent has seen. unread = conversations.last_seq - read_seq.
-- chat_messages   gains client_id, the console's id for an agent reply; it is
--                 unique per conversation, so a retried POST is not written
--                 twice.
-- conversations   gains the indexes behind the console's tabs.
--
-- Replies to the legacy application (the outbound contract). syncd writes an
-- agent reply to chat_messages and to message_reply in one transaction. The
-- legacy application polls, for each conversation it serves:
--   SELECT id, body FROM message_reply
--    WHERE conversation_key = ? AND status = 'pending' ORDER BY id
-- delivers each reply in that order, and then marks it:
--   UPDATE message_reply SET status = 'done', done_at = NOW(6) WHERE id = ?
-- in_reply_to holds the message_sync.id of the customer message the reply
-- answers, when there is one.
--
-- For MySQL 5.7+, MySQL 8 and MariaDB 10.2+; utf8mb4 throughout.

CREATE TABLE console_agents (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  username         VARCHAR(64)     NOT NULL COMMENT 'lower case a-z 0-9 . _ -',
  password_hash    VARCHAR(255)    NOT NULL COMMENT 'bcrypt',
  disabled         TINYINT(1)      NOT NULL DEFAULT 0,
  session_version  BIGINT UNSIGNED NOT NULL DEFAULT 1 COMMENT 'raised to end every session of the agent',
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY ux_console_agents_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE console_reads (
  username         VARCHAR(64)     NOT NULL,
  conversation_key VARCHAR(191)    NOT NULL,
  read_seq         BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (username, conversation_key),
  KEY ix_console_reads_conversation (conversation_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE chat_messages
  ADD COLUMN client_id VARCHAR(64) NULL COMMENT 'console reply id, for safe retries',
  ADD UNIQUE KEY ux_chat_messages_client (conversation_key, client_id);

-- Tabs: unassigned and all (state, most recent first), mine (assignee).
ALTER TABLE conversations
  ADD KEY ix_conversations_recent (state, last_message_at),
  ADD KEY ix_conversations_assignee (assignee, state, last_message_at);
