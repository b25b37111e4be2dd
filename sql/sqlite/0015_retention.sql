-- 0015_retention: indexes that let retention find expired rows.
--
-- Why. Retention (retention.* in the configuration) deletes finished rows
-- older than a horizon, a few thousand per statement, oldest first:
--
--   message_sync   status = 'sent' (or 'failed') AND processed_at < ?
--                  ORDER BY processed_at LIMIT n
--   message_reply  status = 'done' AND done_at < ? ORDER BY done_at LIMIT n
--   chat_messages  created_at < ? ORDER BY created_at, id LIMIT n
--
-- No index had these columns in front: the claim index starts with status
-- but orders by shard_bucket, and message_reply's is the legacy reader's
-- (conversation_key first). Without them each batch would scan the table,
-- which, on the tables retention exists for, is millions of rows read
-- under the relay's feet every few seconds. With them a batch reads only
-- the rows it deletes, then deletes them by primary key.
--
-- ix_message_sync_finished (status, processed_at): the expired sent rows,
--   and the failed ones with their own horizon, oldest first. It holds
--   pending and processing rows too (processed_at NULL) but no query of
--   retention reaches them: status is compared for equality first.
-- ix_message_reply_done (status, done_at): replies the legacy application
--   marked done, oldest first; pending replies are never read by it.
-- ix_chat_messages_created (created_at): history by age. Conversations
--   need none: ix_conversations_updated finds the idle ones, and
--   ux_chat_messages_seq (conversation_key first) tells whether one still
--   has messages.
--
-- What it costs. Three indexes of a few tens of bytes per row; every
-- status write-back of message_sync, every reply marked done and every
-- chat message writes one entry more.

CREATE INDEX ix_message_sync_finished ON message_sync (status, processed_at);
CREATE INDEX ix_message_reply_done ON message_reply (status, done_at);
CREATE INDEX ix_chat_messages_created ON chat_messages (created_at);
