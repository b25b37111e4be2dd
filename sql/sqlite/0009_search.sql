-- 0009_search: the console's search (GET /api/conversations?q=), SQLite.
--
-- An agent finds a conversation by its key, the customer's name or the text
-- of a message. chat_messages gains search_text: the terms of the message
-- (and of the customer's name, on a customer's message) as chat/searchtext
-- writes them. chat/history, the one writer of chat_messages, fills it in
-- the same INSERT as the message.
--
-- Why terms and not the body. FTS5's unicode61 tokenizer takes a run of
-- Chinese characters, written without spaces, as one token, so 退款 would
-- not find 我要退款; its trigram tokenizer would, but not for queries under
-- three characters, while most Chinese words have two. search_text holds
-- every two adjacent characters of a Chinese, Japanese or Korean run and
-- the run's last character, so a Chinese query is found through the index
-- like any word; the same terms serve MariaDB and PostgreSQL, and the three
-- find the same messages. (Each term ends in "_" for MariaDB; unicode61
-- drops it.)
--
-- chat_messages_search  an FTS5 table over search_text, external content
--                 (content='chat_messages', its rowid the message's id), so
--                 the text is stored once: chat_messages_search MATCH
--                 '"refund_" AND "退款_" AND "ord"*', every term required,
--                 the last word typed as a prefix. unicode61 also folds
--                 accents ("cafe" finds "café").
-- The triggers keep it in step with chat_messages: a new message's terms
-- are added in the INSERT's own transaction; an update of search_text or
-- a delete takes the old terms out. No Go code writes the FTS table.
--
-- Keys need no new index: the key that is the text, and keys that start
-- with it byte for byte, are a lookup and a range of ux_conversations_key
-- (the unique key index); the words of a key ("1001" of "order-1001") are
-- in the search_text of the conversation's first message, which
-- chat/history writes with the key's terms.
--
-- What it costs writers: each message's INSERT also inserts its terms into
-- the FTS5 index (a few B-tree pages per message; FTS5 merges its segments
-- as it goes, automerge). Messages written before this migration have no
-- search_text and are found by the start of their key only.

ALTER TABLE chat_messages ADD COLUMN search_text TEXT NULL;

CREATE VIRTUAL TABLE chat_messages_search USING fts5(search_text, content='chat_messages', content_rowid='id', tokenize='unicode61');

CREATE TRIGGER chat_messages_search_insert AFTER INSERT ON chat_messages WHEN new.search_text IS NOT NULL BEGIN INSERT INTO chat_messages_search (rowid, search_text) VALUES (new.id, new.search_text); END;

CREATE TRIGGER chat_messages_search_delete AFTER DELETE ON chat_messages WHEN old.search_text IS NOT NULL BEGIN INSERT INTO chat_messages_search (chat_messages_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END;

CREATE TRIGGER chat_messages_search_update AFTER UPDATE OF search_text ON chat_messages BEGIN INSERT INTO chat_messages_search (chat_messages_search, rowid, search_text) SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL; INSERT INTO chat_messages_search (rowid, search_text) SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL; END;
