-- 0014_api_keys: keys for the HTTP ingest API (POST /api/v1/messages and
-- /api/v1/events).
--
-- Why. Systems that can call HTTP write customer messages and business
-- events through syncd's API instead of INSERTing into message_sync. Each
-- such system gets a key of its own (`syncd apikey add NAME`), which the
-- API checks on every request and `syncd apikey revoke NAME` withdraws at
-- once on every instance.
--
-- api_keys  one row per key. The key itself is shown once, when it is made,
--           and never stored: key_hash is the hex SHA-256 of it (a key is
--           256 random bits, so a fast hash is enough: there is nothing to
--           guess). key_prefix is its first characters, so that `syncd
--           apikey list` can tell keys apart. scope says what the key may do
--           ('ingest', the only scope so far). revoked_at is set by revoke;
--           a revoked key stays, so that its name (the 'api:NAME:' prefix of
--           its rows' source_ref) is never given to another system.
--
-- Indexes.
--   ux_api_keys_name  a key's name is unique: it names the key in the CLI
--                     and its rows' source_ref prefix. Compared byte for byte.
--   ux_api_keys_hash  every API request looks its key up by hash (one index
--                     read); unique, as two keys never share a hash.
--
-- What it costs. A new, small table (one row per system); nothing else
-- changes. The API reads it once per key every few seconds per instance.

CREATE TABLE api_keys (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name        VARCHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'lower case a-z 0-9 _ -',
  key_hash    CHAR(64)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'hex SHA-256 of the key',
  key_prefix  VARCHAR(32)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'the key''s first characters, to tell keys apart',
  scope       VARCHAR(32)     NOT NULL DEFAULT 'ingest',
  created_at  DATETIME(6)     NOT NULL,
  revoked_at  DATETIME(6)     NULL,
  PRIMARY KEY (id),
  UNIQUE KEY ux_api_keys_name (name),
  UNIQUE KEY ux_api_keys_hash (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
