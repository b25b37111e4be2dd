-- 0013_source_ref: legacy writers may retry an INSERT safely.
--
-- Why. A legacy application that loses its connection after an INSERT
-- does not know whether the row was written, and writes it again: the
-- customer's message then reaches the agents twice. message_sync gains
-- source_ref, the writer's own reference for the row (its message id, say
-- 'erp:4711'), NULL for writers that do not set it. It is unique when set,
-- so a retried INSERT finds the row already there:
--
--   INSERT INTO message_sync (conversation_key, body, source_ref)
--   VALUES ('order-1001', 'Where is my parcel?', 'erp:4711')
--   ON DUPLICATE KEY UPDATE id = id;
--
-- The second statement changes nothing (0 rows affected; the auto-increment
-- value it drew is skipped). Unique across writers: two systems writing to
-- one table give their references a prefix of their own ('erp:', 'crm:').
-- A reference is compared byte for byte, like the conversation keys (0006):
-- 'ERP:4711' is another row. Rows without source_ref (NULL) never clash.
-- Retention (when configured) deletes old rows and their references with
-- them: keep sent rows longer than a writer may go on retrying.
--
-- Syncd's HTTP ingest stores a request's Idempotency-Key here, under the
-- prefix 'api:NAME:' of the API key that sent it.
--
-- What it costs. Writers that leave source_ref NULL add a NULL entry to the
-- index (a few bytes per row). The ALTER adds a nullable column (instant on
-- MariaDB 10.3+ and MySQL 8.0.12+) and builds the index in place while
-- reads and writes go on (ALGORITHM=INPLACE, LOCK=NONE on MariaDB 10.0+
-- and MySQL 5.6+); on a table of tens of millions of rows the build takes
-- minutes and a lot of I/O: run it at a quiet hour.

SET @syncd_key_collation = COALESCE(
  (SELECT MAX(COLLATION_NAME) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = 'utf8mb4_nopad_bin'),
  (SELECT MAX(COLLATION_NAME) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = 'utf8mb4_0900_bin'),
  'utf8mb4_bin');
SET @syncd_alter = CONCAT('ALTER TABLE message_sync ADD COLUMN source_ref VARCHAR(191) CHARACTER SET utf8mb4 COLLATE ',
  @syncd_key_collation, ' NULL COMMENT ''the writer''''s own reference: a retried INSERT finds its row'',',
  ' ADD UNIQUE KEY ux_message_sync_source_ref (source_ref)');
PREPARE syncd_alter FROM @syncd_alter;
EXECUTE syncd_alter;
DEALLOCATE PREPARE syncd_alter;
