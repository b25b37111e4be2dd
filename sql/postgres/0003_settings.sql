-- 0003_settings: values syncd generates once and every instance shares,
-- such as the console's session-signing secret when console.session_secret
-- is not configured. Readable only by whoever may read syncd's tables.

CREATE TABLE syncd_settings (
  name       VARCHAR(64)    NOT NULL PRIMARY KEY,
  value      TEXT           NOT NULL,
  created_at TIMESTAMPTZ(6) NOT NULL DEFAULT now()
);
