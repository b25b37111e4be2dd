-- 0008_learning: the agents teach the bot.
--
-- Why. The bot's model only knows the shipped training data; the agents
-- see every day which intent a customer message really had. An agent
-- labels a reply with its intent in one click in the console, or corrects
-- the intent the bot gave a customer message; `syncd bot export` writes
-- these labels as training CSV and `syncd bot retrain` trains on them and
-- installs the new model only if it is not worse on messages neither model
-- trained on. Admins see the last retrain's figures in the console.
--
-- chat_labels     one label per message (chat_messages.id): the intent, the
--                 agent who gave it (console_agents.username, as in
--                 console_reads and conversations.assignee), when, and
--                 whether it differs from the bot's intent on the customer
--                 message (corrects_bot). A second label of the same
--                 message replaces the first. The training text of a label
--                 on an agent reply is the customer message it answers.
-- bot_retrains    one row per `syncd bot retrain`: who ran it and how, the
--                 held-out accuracy of the old and the new model, the data
--                 sizes, whether the new model was installed, and why.
-- console_agents  gains admin: an admin sees the retrain figures
--                 (`syncd agent admin NAME`). Existing agents are not.

CREATE TABLE chat_labels (
  message_id   BIGINT UNSIGNED NOT NULL COMMENT 'chat_messages.id',
  intent       VARCHAR(64)     NOT NULL,
  labelled_by  VARCHAR(64)     NOT NULL COMMENT 'console_agents.username',
  corrects_bot TINYINT(1)      NOT NULL DEFAULT 0 COMMENT 'differs from the bot''s intent',
  labelled_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (message_id),
  KEY ix_chat_labels_at (labelled_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE bot_retrains (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  started_at    DATETIME(6)     NOT NULL,
  finished_at   DATETIME(6)     NOT NULL,
  ran_by        VARCHAR(191)    NOT NULL COMMENT 'OS user and host',
  command       VARCHAR(255)    NOT NULL,
  model_path    VARCHAR(1024)   NOT NULL,
  old_accuracy  DOUBLE          NOT NULL COMMENT 'current model on the held-out part, 0..1',
  new_accuracy  DOUBLE          NOT NULL COMMENT 'retrained model on the held-out part, 0..1',
  train_size    INT UNSIGNED    NOT NULL COMMENT 'examples trained on, background included',
  heldout_size  INT UNSIGNED    NOT NULL,
  labelled_size INT UNSIGNED    NOT NULL COMMENT 'agent labels in the data',
  installed     TINYINT(1)      NOT NULL,
  reason        TEXT            NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE console_agents
  ADD COLUMN admin TINYINT(1) NOT NULL DEFAULT 0;
