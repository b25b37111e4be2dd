-- 0012_sla: auto-assignment and response-time rules (console.assignment,
-- console.sla; README "Assignment and response times").
--
-- conversations.assigned_at     when the current assignee got the
--                               conversation (taken, handed over, or
--                               auto-assigned). The reply target runs for
--                               the assignee from the later of it and
--                               waiting_since, so a conversation handed over
--                               late gives its new holder the whole target.
--                               NULL for assignments made before 0012: they
--                               count as made long ago.
-- conversations.agent_replied_at  the first agent reply since the
--                               conversation was (re)opened; NULL while no
--                               agent has answered, so the first-response
--                               target applies, and the reply target after.
--                               Resolving clears it.
-- conversations.sla_breached_at when the breach of the current wait was
--                               recorded. An UPDATE fenced on it (… AND
--                               (sla_breached_at IS NULL OR sla_breached_at
--                               < waiting_since)) lets exactly one instance
--                               count a breach, however many sweep.
-- conversations.returned_from   the agent it was last taken from for want
--                               of a reply; auto-assignment does not give
--                               it straight back to her.
-- console_agents.away           the agent paused auto-assignment for
--                               herself (the console's "away" toggle);
--                               every instance reads it here.
--
-- The rules an admin edits in the console are one row of syncd_settings
-- (name 'console.sla'), which every instance reads each sweep.
--
-- Index. ix_conversations_waiting (state, waiting_since): the sweep looks
-- for open conversations waiting since before a cutoff, oldest first, and
-- the assigner for the oldest unassigned ones; without it both scan every
-- open conversation each sweep (2s). waiting_since changes only when a
-- wait starts or ends, so the relay's upsert seldom moves an entry.
-- Counting an agent's open conversations (capacity) uses
-- ix_conversations_assignee (assignee, state, …) from 0002.
--
-- ADD COLUMN of NULL-able or defaulted columns is instant on MariaDB 10.3+
-- and MySQL 8.0.12+; the index builds online (LOCK=NONE).

ALTER TABLE conversations
  ADD COLUMN assigned_at      DATETIME(6) NULL,
  ADD COLUMN agent_replied_at DATETIME(6) NULL,
  ADD COLUMN sla_breached_at  DATETIME(6) NULL,
  ADD COLUMN returned_from    VARCHAR(64) COLLATE utf8mb4_bin NULL;

ALTER TABLE console_agents
  ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX ix_conversations_waiting ON conversations (state, waiting_since);
