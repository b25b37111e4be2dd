-- 0005_time_zones: the times of the two contract tables become TIMESTAMP(6),
-- so they are right whatever time zone the legacy application writes in.
--
-- Why. DATETIME stores a wall-clock reading with no zone. A legacy writer
-- whose session runs at another zone than UTC (an ERP at time_zone
-- '+08:00', or any writer on a server whose global time_zone is not UTC)
-- filled created_at, through the column default, NOW() in its INSERT or
-- its own literal, with its local reading, and syncd, reading it as UTC,
-- saw rows written eight hours in the future (negative ages and relay
-- latencies, conversations sorted first and shown as answered). A
-- TIMESTAMP is converted from the writing session's time_zone to UTC when
-- it is stored and back to the reading session's zone when it is read, so
-- the default, NOW() and a literal in the writer's own zone all keep their
-- instant, and the legacy application reads every time of these tables
-- (processed_at, a reply's created_at) in its own zone too.
--
-- Columns: message_sync created_at, next_attempt_at, lease_until,
-- processed_at; message_reply created_at, done_at (which the legacy
-- application sets with NOW() when it delivers a reply). syncd's own
-- tables keep DATETIME(6) holding UTC: only syncd writes them, and its
-- sessions always run at time_zone '+00:00' (set on every connection,
-- whatever the server's global zone), so it binds and reads UTC.
--
-- Not chosen: DATETIME with DEFAULT UTC_TIMESTAMP(6) fixes the default
-- only, not a writer's NOW() or literal; a trigger with CONVERT_TZ needs
-- the TRIGGER privilege and runs for every row; asking every writer to
-- switch its session to UTC is what legacy applications cannot do.
--
-- What a DBA must know:
--   * TIMESTAMP ends at 2038-01-19 03:14:07.999999 UTC on MySQL (5.7 and 8)
--     and on MariaDB before 11.5 (10.11 included; 11.5+ on 64-bit: 2106).
--     A writer's literal past that is refused in strict mode and stored as
--     0000-00-00 with sql_mode=''. These columns must be changed again
--     before 2038 (to DATETIME in UTC once every writer writes UTC, or on
--     a server whose TIMESTAMP goes further).
--   * ALTER from DATETIME to TIMESTAMP reads the existing values in the
--     session's time_zone. The SET below makes that UTC, which is what
--     syncd wrote and what the column default wrote for writers at UTC.
--     Rows a writer inserted earlier from a session at another zone hold
--     that zone's reading and keep their shift (they were relayed long
--     ago; syncd takes a created_at later than the moment it relays a row
--     as that moment). To correct them, e.g. for a writer at +08:00:
--       UPDATE message_sync SET created_at = created_at - INTERVAL 8 HOUR WHERE id <= N;
--   * Each ALTER rebuilds its table (ALGORITHM=COPY): writes to it wait
--     until the copy is done. On a large message_sync run this section in
--     a quiet hour, or apply it with an online schema change tool
--     (pt-online-schema-change, gh-ost), then run its INSERT line from
--     `syncd schema print`.
--   * Each column states NULL or NOT NULL and its DEFAULT, so a server with
--     explicit_defaults_for_timestamp=OFF (MySQL 5.7, MariaDB before 10.10)
--     adds no ON UPDATE CURRENT_TIMESTAMP of its own.
--   * Give writers' sessions an offset ('+08:00') or a zone without
--     daylight saving time: a wall-clock literal in the repeated hour of a
--     DST change is ambiguous, and the server picks one.
--   * MariaDB refuses a literal that carries its own offset
--     ('2026-05-01 10:00:00+08:00': error 1292 in strict mode; with
--     sql_mode='' it drops the offset and reads the rest in the session's
--     zone); MySQL 8.0.19+ honours it.

SET time_zone = '+00:00';

ALTER TABLE message_sync
  MODIFY next_attempt_at TIMESTAMP(6) NULL DEFAULT NULL COMMENT 'set only while a retry waits; NULL means due now',
  MODIFY lease_until     TIMESTAMP(6) NULL DEFAULT NULL COMMENT 'a claim older than this may be taken back',
  MODIFY created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  MODIFY processed_at    TIMESTAMP(6) NULL DEFAULT NULL;

ALTER TABLE message_reply
  MODIFY created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  MODIFY done_at         TIMESTAMP(6) NULL DEFAULT NULL COMMENT 'set by the legacy application when it delivered the reply';
