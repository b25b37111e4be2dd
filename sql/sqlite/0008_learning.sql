-- 0008_learning: the agents teach the bot. See sql/mysql/0008_learning.sql
-- for why.
--
-- chat_labels     one label per message (chat_messages.id): intent, the
--                 agent's username, when, and whether it differs from the
--                 bot's intent (corrects_bot).
-- bot_retrains    one row per `syncd bot retrain`: old and new held-out
--                 accuracy, sizes, installed or not, and why.
-- console_agents  gains admin: an admin sees the retrain figures.
--
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.

CREATE TABLE chat_labels (
  message_id   INTEGER NOT NULL PRIMARY KEY,
  intent       TEXT    NOT NULL,
  labelled_by  TEXT    NOT NULL,
  corrects_bot INTEGER NOT NULL DEFAULT 0 CHECK (corrects_bot IN (0, 1)),
  labelled_at  DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX ix_chat_labels_at ON chat_labels (labelled_at);

CREATE TABLE bot_retrains (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at    DATETIME NOT NULL,
  finished_at   DATETIME NOT NULL,
  ran_by        TEXT     NOT NULL,
  command       TEXT     NOT NULL,
  model_path    TEXT     NOT NULL,
  old_accuracy  REAL     NOT NULL,
  new_accuracy  REAL     NOT NULL,
  train_size    INTEGER  NOT NULL,
  heldout_size  INTEGER  NOT NULL,
  labelled_size INTEGER  NOT NULL,
  installed     INTEGER  NOT NULL CHECK (installed IN (0, 1)),
  reason        TEXT     NOT NULL
);

ALTER TABLE console_agents ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1));
