-- 0005_time_zones: times a legacy writer sets are stored as UTC text (SQLite).
--
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.fff]', which SQL compares as
-- text. CURRENT_TIMESTAMP, strftime(..., 'now') and the column defaults
-- are UTC. A writer may also set message_sync.created_at (or
-- message_reply.done_at) to a literal with an offset
-- ('2026-05-01 10:00:00+08:00'), with a 'T' or a 'Z', or to a Julian day
-- number: these triggers rewrite such a value, as it is written, to the
-- UTC text of the same instant, as SQLite's date functions read it, so
-- that comparisons and ordering in SQL stay right. Text without an offset
-- is UTC: datetime('now', 'localtime') stores the local reading, and syncd
-- cannot tell it from UTC. A value the date functions cannot read is left
-- as it is; syncd takes it, like a created_at later than the moment it
-- relays the row, as that moment.
--
-- Rows already written with such values are rewritten once here.

CREATE TRIGGER message_sync_created_at_utc AFTER INSERT ON message_sync
WHEN strftime('%Y-%m-%d %H:%M:%f', NEW.created_at) <> NEW.created_at
BEGIN UPDATE message_sync SET created_at = strftime('%Y-%m-%d %H:%M:%f', NEW.created_at) WHERE id = NEW.id; END;

CREATE TRIGGER message_reply_done_at_utc AFTER UPDATE OF done_at ON message_reply
WHEN strftime('%Y-%m-%d %H:%M:%f', NEW.done_at) <> NEW.done_at
BEGIN UPDATE message_reply SET done_at = strftime('%Y-%m-%d %H:%M:%f', NEW.done_at) WHERE id = NEW.id; END;

UPDATE message_sync SET created_at = strftime('%Y-%m-%d %H:%M:%f', created_at)
WHERE strftime('%Y-%m-%d %H:%M:%f', created_at) <> created_at;

UPDATE message_reply SET done_at = strftime('%Y-%m-%d %H:%M:%f', done_at)
WHERE strftime('%Y-%m-%d %H:%M:%f', done_at) <> done_at;
