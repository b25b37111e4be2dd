-- 0006_keys: conversation keys are compared byte for byte; history can say
-- why the bot did not answer.
--
-- A conversation is its key exactly as the legacy application wrote it:
-- 'Order-1001' and 'order-1001', 'cafe' and 'café', 'order-1002' and
-- 'order-1002 ' are different conversations. SQLite compares text byte for
-- byte already (the BINARY collation of every key column), so only MySQL
-- and MariaDB need their key columns changed (sql/mysql/0006_keys.sql).
--
-- chat_messages gains note: why the bot did not answer a message or event
-- (an event template whose field is missing, for instance); the console
-- shows it, and the message_sync row keeps it in last_error while sent.

ALTER TABLE chat_messages ADD COLUMN note TEXT NULL;
