-- 0003_settings: values syncd generates once and every instance shares,
-- such as the console's session-signing secret when console.session_secret
-- is not configured. Readable only by whoever may read syncd's tables.

CREATE TABLE syncd_settings (
  name       VARCHAR(64)  NOT NULL,
  value      TEXT         NOT NULL,
  created_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
