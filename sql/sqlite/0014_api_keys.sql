-- 0014_api_keys: keys for the HTTP ingest API (SQLite).
-- See sql/mysql/0014_api_keys.sql for why.
--
-- api_keys  one row per key: the hex SHA-256 of the key (the key itself is
--           shown once and never stored), its first characters to tell keys
--           apart, its scope ('ingest'), and revoked_at once revoked (the row
--           stays, so that its name is never given to another system).
--
-- Indexes (UNIQUE columns).
--   name      the key's name is unique (the CLI's handle, and the
--             'api:NAME:' prefix of its rows' source_ref).
--   key_hash  every API request looks its key up by hash.
--
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.

CREATE TABLE api_keys (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT     NOT NULL UNIQUE,
  key_hash    TEXT     NOT NULL UNIQUE,
  key_prefix  TEXT     NOT NULL,
  scope       TEXT     NOT NULL DEFAULT 'ingest',
  created_at  DATETIME NOT NULL,
  revoked_at  DATETIME NULL
);
