-- 0012_sla: auto-assignment and response-time rules (SQLite). See
-- sql/mysql/0012_sla.sql for why each column exists.
--
-- conversations.assigned_at      when the current assignee got it.
-- conversations.agent_replied_at the first agent reply since (re)opening;
--                                NULL: the first-response target applies.
-- conversations.sla_breached_at  when the current wait's breach was
--                                recorded; fences the count to one writer.
-- conversations.returned_from   the agent it was last taken from for want
--                                of a reply; not given straight back to her.
-- console_agents.away            the agent paused auto-assignment.
--
-- Index. ix_conversations_waiting (state, waiting_since): the sweep's and
-- the assigner's "open and waiting since before X, oldest first".

ALTER TABLE conversations ADD COLUMN assigned_at DATETIME NULL;
ALTER TABLE conversations ADD COLUMN agent_replied_at DATETIME NULL;
ALTER TABLE conversations ADD COLUMN sla_breached_at DATETIME NULL;
ALTER TABLE conversations ADD COLUMN returned_from TEXT NULL;
ALTER TABLE console_agents ADD COLUMN away INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_conversations_waiting ON conversations (state, waiting_since);
