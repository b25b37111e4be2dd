-- 0009_search: the console's search (GET /api/conversations?q=), PostgreSQL.
--
-- An agent finds a conversation by its key, the customer's name or the text
-- of a message. chat_messages gains search_text: the terms of the message
-- (and of the customer's name, on a customer's message) as chat/searchtext
-- writes them. chat/history, the one writer of chat_messages, fills it in
-- the same INSERT as the message, so no trigger and no second writer.
--
-- Why terms and not the body. PostgreSQL's text search parser takes a run
-- of Chinese characters, written without spaces, as one word, so 退款 would
-- not find 我要退款. search_text holds every two adjacent characters of a
-- Chinese, Japanese or Korean run and the run's last character, so a
-- Chinese query is found through the index like any word; the same terms
-- serve MariaDB and SQLite, and the three find the same messages. (Each
-- term ends in "_" for MariaDB; PostgreSQL's parser drops it.)
--
-- ix_chat_messages_search  GIN over to_tsvector('simple', search_text):
--                 search_text @@ to_tsquery('simple', '''refund_'' &
--                 ''退款_'' & ''ord'':*'), every term required, the last word
--                 typed as a prefix. 'simple': lower case, no stemming, no
--                 stopwords, the same in every language; accents count.
--
-- No extension is needed. pg_trgm (a trigram index, LIKE '%…%') needs a
-- superuser's or the database owner's CREATE EXTENSION pg_trgm, and it can
-- use its index only for queries of three characters or more, while most
-- Chinese words have two; so it is not used.
--
-- Keys need no new index: the key that is the text, and keys that start
-- with it byte for byte, are a lookup and a range of ux_conversations_key
-- (the unique key index); the words of a key ("1001" of "order-1001") are
-- in the search_text of the conversation's first message, which
-- chat/history writes with the key's terms.
--
-- What it costs writers. A GIN index has fastupdate on: an INSERT appends
-- its terms to the index's pending list, and whoever finds the list over
-- gin_pending_list_limit (4 MB) merges it, usually autovacuum, sometimes
-- one relay commit (not measured yet on PostgreSQL). Messages written before this
-- migration have no search_text and are found by the start of their key only.
--
-- What the CREATE INDEX costs. It holds a SHARE lock on chat_messages while
-- it builds: relay commits wait. On a large history a DBA can instead run
-- CREATE INDEX CONCURRENTLY ix_chat_messages_search … by hand beforehand
-- (outside a transaction) and skip that statement of this file.

ALTER TABLE chat_messages ADD COLUMN search_text TEXT NULL;
COMMENT ON COLUMN chat_messages.search_text IS 'search terms, chat/searchtext';

CREATE INDEX ix_chat_messages_search ON chat_messages USING GIN (to_tsvector('simple', search_text));
