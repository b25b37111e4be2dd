-- 0003_settings: values syncd generates once and every instance shares,
-- such as the console's session-signing secret when console.session_secret
-- is not configured.

CREATE TABLE syncd_settings (
  name       TEXT     NOT NULL PRIMARY KEY,
  value      TEXT     NOT NULL,
  created_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
