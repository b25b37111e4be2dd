-- 0013_source_ref: legacy writers may retry an INSERT safely (PostgreSQL).
-- See sql/mysql/0013_source_ref.sql for why.
--
--   INSERT INTO message_sync (conversation_key, body, source_ref)
--   VALUES ('order-1001', 'Where is my parcel?', 'erp:4711')
--   ON CONFLICT (source_ref) DO NOTHING;
--
-- source_ref is unique when set (a unique index holds any number of NULLs)
-- and compared byte for byte (COLLATE "C", like the keys).
--
-- What it costs. ADD COLUMN of a nullable column without a default is
-- instant. CREATE UNIQUE INDEX blocks writes to message_sync while it
-- builds (seconds per million rows). On a large table, build it first
-- without blocking writers, outside a transaction:
--   CREATE UNIQUE INDEX CONCURRENTLY ux_message_sync_source_ref
--     ON message_sync (source_ref);
-- and this migration then finds it (IF NOT EXISTS).

ALTER TABLE message_sync ADD COLUMN IF NOT EXISTS source_ref VARCHAR(191) COLLATE "C" NULL;
COMMENT ON COLUMN message_sync.source_ref IS 'the writer''s own reference: a retried INSERT finds its row';
CREATE UNIQUE INDEX IF NOT EXISTS ux_message_sync_source_ref ON message_sync (source_ref);
