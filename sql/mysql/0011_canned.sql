-- 0011_canned: canned replies, a library the agents share.
--
-- canned_replies  one row per canned reply: the shortcut an agent types in
--                 the composer (/shortcut), a title for the lists, and its
--                 text per language (texts: a JSON object of language code
--                 to text, such as {"en": "Hello {{.customer_name}}",
--                 "zh-CN": "您好"}). Admins edit them in the console; the
--                 console picks the text in the agent's language. The texts
--                 are read and written with their row and never searched,
--                 so they are one column rather than a table of their own.
--                 updated_by is the admin who last saved it
--                 (console_agents.username).
--
-- Indexes: the unique shortcut is what lets two admins not save the same
-- shortcut and what the list is ordered by; the library is small (tens to
-- hundreds of rows) and read whole, so nothing else is indexed.

CREATE TABLE canned_replies (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  shortcut    VARCHAR(32)     NOT NULL COMMENT 'typed as /shortcut; lower case a-z 0-9 _ -',
  title       VARCHAR(191)    NOT NULL,
  texts       MEDIUMTEXT      NOT NULL COMMENT 'JSON object: language code -> text',
  updated_by  VARCHAR(64)     NOT NULL COMMENT 'console_agents.username',
  created_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY ux_canned_replies_shortcut (shortcut)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
