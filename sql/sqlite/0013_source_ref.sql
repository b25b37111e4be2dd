-- 0013_source_ref: legacy writers may retry an INSERT safely (SQLite).
-- See sql/mysql/0013_source_ref.sql for why.
--
--   INSERT INTO message_sync (conversation_key, body, source_ref)
--   VALUES ('order-1001', 'Where is my parcel?', 'erp:4711')
--   ON CONFLICT (source_ref) DO NOTHING;
--
-- (SQLite 3.24+.) Not INSERT OR IGNORE: it also drops, without an error, a
-- row that breaks any other constraint (a NULL conversation_key). source_ref
-- is unique when set (NULLs never clash) and compared byte for byte
-- (SQLite's default BINARY collation).

ALTER TABLE message_sync ADD COLUMN source_ref TEXT NULL;
CREATE UNIQUE INDEX ux_message_sync_source_ref ON message_sync (source_ref);
