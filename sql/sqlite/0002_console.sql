-- 0002_console: the agent console (SQLite, the embedded default).
--
-- console_agents  who may log in to the console (`syncd agent add`). Passwords
--                 are bcrypt hashes; there are no default accounts.
--                 session_version is raised by `syncd agent passwd` and
--                 `syncd agent disable`, which ends every session the agent
--                 holds.
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
--   UPDATE message_reply SET status = 'done',
--          done_at = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?
-- in_reply_to holds the message_sync.id of the customer message the reply
-- answers, when there is one.
--
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'. Needs SQLite 3.31+.

CREATE TABLE console_agents (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  username         TEXT    NOT NULL UNIQUE,
  password_hash    TEXT    NOT NULL,
  disabled         INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  session_version  INTEGER NOT NULL DEFAULT 1,
  created_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);

CREATE TABLE console_reads (
  username         TEXT    NOT NULL,
  conversation_key TEXT    NOT NULL,
  read_seq         INTEGER NOT NULL DEFAULT 0,
  updated_at       DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  PRIMARY KEY (username, conversation_key)
);
CREATE INDEX ix_console_reads_conversation ON console_reads (conversation_key);

ALTER TABLE chat_messages ADD COLUMN client_id TEXT NULL;
CREATE UNIQUE INDEX ux_chat_messages_client ON chat_messages (conversation_key, client_id);

-- Tabs: unassigned and all (state, most recent first), mine (assignee).
CREATE INDEX ix_conversations_recent ON conversations (state, last_message_at);
CREATE INDEX ix_conversations_assignee ON conversations (assignee, state, last_message_at);
