-- 0007_answered: who answered a conversation, and whether the customer
-- asked for a person. See sql/mysql/0007_answered.sql for why.
--
-- answered_by: 'bot' or 'agent', who last replied after the customer's last
-- message; NULL while nobody has. wants_agent: the customer asked for a
-- person (a hand-off intent); cleared when an agent replies or resolves.

ALTER TABLE conversations ADD COLUMN answered_by TEXT NULL;
ALTER TABLE conversations ADD COLUMN wants_agent INTEGER NOT NULL DEFAULT 0;
