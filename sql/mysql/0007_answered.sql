-- 0007_answered: who answered a conversation, and whether the customer
-- asked for a person.
--
-- Why. A bot auto-reply cleared waiting_since, so a customer who wrote
-- "I want to talk to a real person" or "转人工", or whose complaint got a
-- canned order-status reply, showed as answered with no waiting timer and
-- no agent saw them waiting. Now a bot reply leaves the conversation
-- waiting unless the intent's answer says `resolves: true` (greetings,
-- thanks), and the console needs to tell a conversation the bot answered
-- from one an agent answered.
--
-- answered_by: 'bot' or 'agent', who last replied to the customer after
-- their last message; NULL while nobody has (a new customer message sets
-- it back to NULL). waiting_since still says whether the customer waits:
-- a bot reply that does not resolve sets answered_by 'bot' and keeps the
-- conversation waiting.
--
-- wants_agent: the customer asked for a person (a hand-off intent, see
-- bot/answers.go). The conversation stays waiting whatever the bot says
-- next, until an agent replies or resolves it, which clears it.
--
-- Both are small columns with defaults; ADD COLUMN is instant on MariaDB
-- 10.3+ and MySQL 8.0.12+, and existing conversations read as "nobody
-- answered yet, nobody asked for a person".

ALTER TABLE conversations
  ADD COLUMN answered_by VARCHAR(8) NULL,
  ADD COLUMN wants_agent BOOLEAN NOT NULL DEFAULT FALSE;
