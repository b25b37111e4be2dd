-- 0011_canned: canned replies, a library the agents share. See
-- sql/mysql/0011_canned.sql for why.
--
-- canned_replies  shortcut (/shortcut in the composer), title, texts (a
--                 JSON object of language code to text, read and written
--                 whole), who saved it.
--
-- Indexes: the unique shortcut keeps shortcuts distinct and orders the
-- list; the library is small and read whole.
--
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.

CREATE TABLE canned_replies (
  id          INTEGER  PRIMARY KEY AUTOINCREMENT,
  shortcut    TEXT     NOT NULL,
  title       TEXT     NOT NULL,
  texts       TEXT     NOT NULL,
  updated_by  TEXT     NOT NULL,
  created_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  updated_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE UNIQUE INDEX ux_canned_replies_shortcut ON canned_replies (shortcut);
