-- 0006_keys: conversation keys are compared byte for byte; history can say
-- why the bot did not answer.
--
-- A conversation is its key exactly as the legacy application wrote it:
-- 'Order-1001' and 'order-1001', 'cafe' and 'café', 'order-1002' and
-- 'order-1002 ' are different conversations. The default utf8mb4
-- collations call such keys equal (case- and accent-insensitive, trailing
-- spaces ignored), while syncd, its shard buckets (CRC32 of the bytes) and
-- the console tell them apart. So every conversation_key column of syncd's
-- tables gets a binary collation that does not pad: utf8mb4_nopad_bin on
-- MariaDB 10.2+, utf8mb4_0900_bin on MySQL 8.0.17+. Older MySQL has only
-- utf8mb4_bin, which still ignores trailing spaces: there a key that ends in
-- a space fails with a reason that says so. The collation is picked from
-- information_schema, so this file runs unchanged on every server.
-- The legacy application's own queries compare keys this way too, e.g.
-- message_reply WHERE conversation_key = 'order-1001' no longer finds the
-- replies of 'ORDER-1001'.
--
-- Whatever collation a DBA gives these columns later, syncd never assumes
-- the database compares keys as it does: rows whose key the database merges
-- with another conversation fail with a reason, and the others go on.
--
-- chat_messages gains note: why the bot did not answer a message or event
-- (an event template whose field is missing, for instance); the console
-- shows it, and the message_sync row keeps it in last_error while sent.
--
-- What the ALTERs cost on a big table. message_sync's key is in no index:
-- on MariaDB 10.3+ the change is instant (metadata only). On the other
-- tables, conversation_key is indexed: MariaDB 10.6+ rebuilds those indexes
-- in place while reads and writes go on (0.6 s per 200,000 chat_messages
-- rows on a small VM); MariaDB before 10.6 and MySQL 5.7/8.0 copy the whole
-- table (ALGORITHM=COPY), and writes to it wait until the copy is done:
-- a legacy INSERT into message_sync blocks for as long as message_sync
-- takes to copy, about as long as an OPTIMIZE TABLE of it. On a large
-- table, stop syncd, run this at a quiet hour, or run the same ALTERs with
-- pt-online-schema-change or gh-ost. Adding chat_messages.note is instant on
-- MariaDB 10.3+ and MySQL 8.0.12+ and part of the same rebuild elsewhere.
-- An ALTER that fails leaves its table as it was, and those before it stand
-- (DDL does not roll back): run the remaining ones by hand.

SET @syncd_key_collation = COALESCE(
  (SELECT MAX(COLLATION_NAME) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = 'utf8mb4_nopad_bin'),
  (SELECT MAX(COLLATION_NAME) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = 'utf8mb4_0900_bin'),
  'utf8mb4_bin');
SET @syncd_key_column = CONCAT('MODIFY conversation_key VARCHAR(191) CHARACTER SET utf8mb4 COLLATE ', @syncd_key_collation, ' NOT NULL');

SET @syncd_alter = CONCAT('ALTER TABLE message_sync ', @syncd_key_column);
PREPARE syncd_alter FROM @syncd_alter;
EXECUTE syncd_alter;

SET @syncd_alter = CONCAT('ALTER TABLE conversations ', @syncd_key_column);
PREPARE syncd_alter FROM @syncd_alter;
EXECUTE syncd_alter;

SET @syncd_alter = CONCAT('ALTER TABLE chat_messages ', @syncd_key_column,
  ', ADD COLUMN note TEXT NULL COMMENT ''why the bot did not answer, shown to agents''');
PREPARE syncd_alter FROM @syncd_alter;
EXECUTE syncd_alter;

SET @syncd_alter = CONCAT('ALTER TABLE message_reply ', @syncd_key_column);
PREPARE syncd_alter FROM @syncd_alter;
EXECUTE syncd_alter;

SET @syncd_alter = CONCAT('ALTER TABLE console_reads ', @syncd_key_column);
PREPARE syncd_alter FROM @syncd_alter;
EXECUTE syncd_alter;

DEALLOCATE PREPARE syncd_alter;
