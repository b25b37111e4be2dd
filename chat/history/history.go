// Package history writes the chat history tables (conversations'
// sequence counters and waiting state, chat_messages, message_reply). It
// is their one writer: the relay's commit and the console's reply path
// both call it inside their own transaction, so sequence numbers, the
// conversation upsert and the order in which conversation rows are locked
// exist once.
package history

import (
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chat/searchtext"
	"github.com/syncd-dev/syncd/internal/dialect"
	"github.com/syncd-dev/syncd/store/batch"
)

// Writer appends to chat history in the dialect's SQL.
type Writer struct{ d dialect.D }

// New returns the history writer of a dialect.
func New(d dialect.D) Writer { return Writer{d: d} }

// KeyConflictError means the database holds some of the batch's keys as
// the same conversation as another key (its collation calls them equal,
// syncd compares keys byte for byte). Nothing was written; Rows are the
// rows of those keys, with the reason to fail them.
type KeyConflictError struct {
	Rows []batch.Failed
}

func (e *KeyConflictError) Error() string {
	if len(e.Rows) == 0 {
		return "conversation keys merged by the database"
	}
	return fmt.Sprintf("%d rows have conversation keys the database merges with another conversation, e.g. row %d: %s",
		len(e.Rows), e.Rows[0].ID, e.Rows[0].Reason)
}

type waitMode int

const (
	waitKeep  waitMode = iota // only events: nothing new to answer
	waitStart                 // ends with a customer message nobody answered
	waitBot                   // the bot replied, but the customer still waits for an agent
	waitClear                 // ends with a bot answer that resolves
	waitModes
)

type convUpdate struct {
	key        string
	count      int
	lastAt     time.Time
	firstAt    time.Time // first unanswered customer message
	wait       waitMode
	wantsAgent bool // a message of the batch asked for a person
	messages   []*chat.Message
}

// AppendRelayed allocates sequence numbers and inserts the chat messages,
// bot replies included, in batch order within each conversation.
func (w Writer) AppendRelayed(tx *gorm.DB, relayed []batch.Relayed, now time.Time) ([]chat.Message, error) {
	var msgs []chat.Message
	var replies []int // index into msgs of bot replies
	// effect of each entry of msgs on its conversation's waiting state
	type effect struct{ answers, resolves, handoff bool }
	var effects []effect
	for _, r := range relayed {
		m := r.Message
		// A row cannot have been written after it was relayed: a created_at
		// in the future (a writer's clock or literal, a row stored in local
		// time before sql 0005) would sort its conversation first and read
		// as already answered.
		if m.CreatedAt.IsZero() || m.CreatedAt.After(now) {
			m.CreatedAt = now
		}
		msgs = append(msgs, m)
		effects = append(effects, effect{handoff: r.Handoff})
		if r.AutoReply != "" {
			replies = append(replies, len(msgs))
			msgs = append(msgs, chat.Message{
				ConversationKey: m.ConversationKey, SenderType: chat.SenderBot, SenderName: "bot",
				Kind: chat.KindMessage, Body: r.AutoReply, SourceID: m.SourceID, CreatedAt: now,
			})
			// The reply to an event (order shipped) is a notice, not an
			// answer to what the customer asked: it changes nothing.
			isAnswer := m.Kind == chat.KindMessage
			effects = append(effects, effect{answers: isAnswer, resolves: isAnswer && r.Resolves && !r.Handoff})
		}
	}
	convs := map[string]*convUpdate{}
	var order []string
	for i := range msgs {
		m := &msgs[i]
		cu := convs[m.ConversationKey]
		if cu == nil {
			cu = &convUpdate{key: m.ConversationKey}
			convs[m.ConversationKey] = cu
			order = append(order, m.ConversationKey)
		}
		cu.count++
		cu.messages = append(cu.messages, m)
		if m.CreatedAt.After(cu.lastAt) {
			cu.lastAt = m.CreatedAt
		}
		e := effects[i]
		cu.wantsAgent = cu.wantsAgent || e.handoff
		switch {
		case m.SenderType == chat.SenderCustomer:
			if cu.wait != waitStart && cu.wait != waitBot {
				cu.firstAt = m.CreatedAt
			}
			cu.wait = waitStart
		case e.resolves && !cu.wantsAgent:
			// Only an answer that settles the question takes the
			// conversation off the queue; one who asked for a person
			// waits for one whatever the bot says next.
			cu.wait = waitClear
		case e.answers && cu.wait != waitKeep:
			cu.wait = waitBot
		}
	}
	// Lock conversation rows in one order everywhere, so two transactions
	// touching the same conversations cannot deadlock.
	sort.Strings(order)
	if err := w.bumpSequences(tx, order, convs, now); err != nil {
		return nil, err
	}
	type seqRow struct {
		ConversationKey string
		LastSeq         int64
	}
	var got []seqRow
	if err := tx.Raw(`SELECT conversation_key, last_seq FROM conversations WHERE conversation_key IN ?`, order).Scan(&got).Error; err != nil {
		return nil, fmt.Errorf("read conversation sequences: %w", err)
	}
	// The database found these rows with its own comparison; only a row
	// whose key is byte for byte the batch's is that conversation. A key
	// without one was merged into another conversation by the upsert.
	found := make(map[string]bool, len(got))
	for _, g := range got {
		cu, ok := convs[g.ConversationKey]
		if !ok {
			continue // another spelling, which the database calls equal
		}
		found[cu.key] = true
		first := g.LastSeq - int64(cu.count) + 1
		for i, m := range cu.messages {
			m.Seq = first + int64(i)
		}
	}
	if len(found) < len(order) {
		return nil, w.keyConflict(tx, order, found, convs)
	}
	if err := w.insertMessages(tx, msgs); err != nil {
		return nil, err
	}
	if err := w.fillIDs(tx, msgs); err != nil {
		return nil, err
	}
	if len(replies) > 0 {
		if err := w.insertBotReplies(tx, msgs, replies, now); err != nil {
			return nil, err
		}
	}
	// Insert order: a bot reply shares its row's source id and follows it.
	sort.SliceStable(msgs, func(i, j int) bool {
		if msgs[i].SourceID != msgs[j].SourceID {
			return msgs[i].SourceID < msgs[j].SourceID
		}
		return msgs[i].Seq < msgs[j].Seq
	})
	return msgs, nil
}

// keyConflict names the rows of the keys the database merged with another
// conversation, and that conversation's key as the database holds it. A
// conversation this batch created goes to the spelling whose row came
// first (not the one the upsert happened to insert first); one that
// existed before keeps its key.
func (w Writer) keyConflict(tx *gorm.DB, order []string, found map[string]bool, convs map[string]*convUpdate) error {
	var e KeyConflictError
	fail := func(key, reason string) {
		seen := map[int64]bool{}
		for _, m := range convs[key].messages {
			if m.SenderType != chat.SenderBot && !seen[m.SourceID] {
				seen[m.SourceID] = true
				e.Rows = append(e.Rows, batch.Failed{ID: m.SourceID, Reason: reason})
			}
		}
	}
	type held struct {
		lastSeq int64
		merged  []string // the batch's keys the database put in it
	}
	into := map[string]*held{}
	var stored []string
	for _, key := range order {
		if found[key] {
			continue
		}
		var got []struct {
			ConversationKey string
			LastSeq         int64
		}
		if err := tx.Raw(`SELECT conversation_key, last_seq FROM conversations WHERE conversation_key = ? LIMIT 1`, key).Scan(&got).Error; err != nil {
			return fmt.Errorf("read conversation sequences: %w", err)
		}
		if len(got) == 0 {
			fail(key, fmt.Sprintf("conversation_key %q is another conversation's key to the database"+mergeHint, key))
			continue
		}
		h := into[got[0].ConversationKey]
		if h == nil {
			h = &held{lastSeq: got[0].LastSeq}
			into[got[0].ConversationKey] = h
			stored = append(stored, got[0].ConversationKey)
		}
		h.merged = append(h.merged, key)
	}
	for _, st := range stored {
		h := into[st]
		winner := st
		if own := convs[st]; own != nil {
			total := own.count
			for _, k := range h.merged {
				total += convs[k].count
			}
			if h.lastSeq == int64(total) { // nothing but this batch in it: created here
				for _, k := range h.merged {
					if convs[k].messages[0].SourceID < convs[winner].messages[0].SourceID {
						winner = k
					}
				}
			}
		}
		for _, k := range append(h.merged, st) {
			if k != winner && convs[k] != nil {
				fail(k, fmt.Sprintf("conversation_key %q is conversation %q to the database"+mergeHint, k, winner))
			}
		}
	}
	return &e
}

const mergeHint = " (its collation calls the two keys equal), but syncd compares keys byte for byte: write one spelling," +
	" or give syncd's key columns a binary collation (sql/mysql/0006_keys.sql)"

func (w Writer) bumpSequences(tx *gorm.DB, order []string, convs map[string]*convUpdate, now time.Time) error {
	var groups [waitModes][]any // per waitMode: the VALUES arguments
	var counts [waitModes]int
	for _, key := range order {
		cu := convs[key]
		var waiting, answered any
		switch cu.wait {
		case waitStart, waitBot:
			waiting = w.d.Time(cu.firstAt)
		}
		switch cu.wait {
		case waitBot, waitClear:
			answered = "bot"
		}
		groups[cu.wait] = append(groups[cu.wait], cu.key, cu.count, w.d.Time(cu.lastAt), waiting, answered, cu.wantsAgent, w.d.Time(now), w.d.Time(now))
		counts[cu.wait]++
	}
	for mode, args := range groups {
		if counts[mode] == 0 {
			continue
		}
		q := `INSERT INTO conversations (conversation_key, last_seq, last_message_at, waiting_since, answered_by, wants_agent, created_at, updated_at) VALUES ` +
			repeatJoin("(?, ?, ?, ?, ?, ?, ?, ?)", counts[mode]) + w.upsertSequence(waitMode(mode))
		if err := tx.Exec(q, args...).Error; err != nil {
			return fmt.Errorf("advance conversation sequences: %w", err)
		}
	}
	return nil
}

// upsertSequence is the ON CONFLICT part of the conversation upsert: add the
// batch's message count to last_seq, reopen, and set the waiting time and
// who answered. last_message_at never goes back: rows reach history in
// commit order, and a row whose transaction committed late was created
// before rows already relayed. A bot answer that resolves clears
// waiting_since only when no earlier message asked for a person
// (wants_agent); wants_agent is only ever raised here (an agent's reply
// clears it, AgentSeq). MySQL evaluates the assignments left
// to right, so wants_agent, which the others read, is assigned last.
func (w Writer) upsertSequence(mode waitMode) string {
	v := w.d.Inserted
	// The row's current values, qualified: PostgreSQL calls a bare column
	// in DO UPDATE ambiguous (it could be excluded's).
	c := func(col string) string { return "conversations." + col }
	wants := "(" + c("wants_agent") + " OR " + v("wants_agent") + ")"
	wait := map[waitMode]string{
		waitKeep:  c("waiting_since"),
		waitStart: "COALESCE(" + c("waiting_since") + ", " + v("waiting_since") + ")",
		waitBot:   "COALESCE(" + c("waiting_since") + ", " + v("waiting_since") + ")",
		waitClear: "CASE WHEN " + wants + " THEN COALESCE(" + c("waiting_since") + ", " + v("waiting_since") + ") ELSE NULL END",
	}[mode]
	answered := c("answered_by")
	if mode != waitKeep {
		answered = v("answered_by")
	}
	set := ` last_seq = ` + c("last_seq") + ` + ` + v("last_seq") + `, state = 'open',
 last_message_at = ` + w.d.Greatest() + `(COALESCE(` + c("last_message_at") + `, ` + v("last_message_at") + `), ` + v("last_message_at") + `),
 waiting_since = ` + wait + `, answered_by = ` + answered + `, updated_at = ` + v("updated_at") + `,
 wants_agent = ` + wants
	return w.d.Upsert("conversation_key") + set
}

// sourceTable names where a history entry came from; with source_id it is
// unique, so neither a row nor the bot's answer to it can be written twice.
func sourceTable(m chat.Message) string {
	if m.SenderType == chat.SenderBot {
		return "bot_reply"
	}
	return chat.SourceMessageSync
}

// maxInsertBytes keeps a multi-row INSERT well under max_allowed_packet.
const maxInsertBytes = 4 << 20

// suggestionColumn is what chat_messages.suggestion gets. The text of a
// bot suggestion is not stored: it is the reply of the stored intent, which
// the console looks up when it reads the message (writing it into every
// row cost the relay about 5 %, docs/benchmarks-bot.md). NULL means "look
// it up"; "" means the bot suggested nothing (it answered by itself, or the
// intent has no reply), so that a later change of threshold or answers
// cannot put a suggestion beside a message the bot already answered.
func suggestionColumn(m chat.Message) any {
	if m.Intent != "" && m.Suggestion == "" {
		return ""
	}
	return nil
}

func (w Writer) insertMessages(tx *gorm.DB, msgs []chat.Message) error {
	const cols = 15
	flush := func(batch []chat.Message) error {
		if len(batch) == 0 {
			return nil
		}
		args := make([]any, 0, len(batch)*cols)
		for _, m := range batch {
			var conf any
			if m.Intent != "" {
				conf = m.Confidence
			}
			var payload any
			if len(m.Payload) > 0 {
				payload = string(m.Payload)
			}
			args = append(args, m.ConversationKey, m.Seq, string(m.SenderType), dialect.NullIfEmpty(m.SenderName), m.Kind, m.Body,
				payload, sourceTable(m), m.SourceID, dialect.NullIfEmpty(m.Intent), conf, suggestionColumn(m), dialect.NullIfEmpty(m.Note), w.d.Time(m.CreatedAt),
				searchText(m))
		}
		q := `INSERT INTO chat_messages (conversation_key, seq, sender_type, sender_name, kind, body, payload,
 source_table, source_id, intent, confidence, suggestion, note, created_at, search_text) VALUES ` + repeatJoin("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", len(batch))
		if err := tx.Exec(q, args...).Error; err != nil {
			return fmt.Errorf("insert chat history: %w", err)
		}
		return nil
	}
	start, size := 0, 0
	for i, m := range msgs {
		n := len(m.Body) + len(m.Payload) + len(m.Note) + min(3*len(m.Body)+len(m.SenderName)+len(m.ConversationKey), searchtext.MaxBytes) + 256 // with its search terms
		if i > start && size+n > maxInsertBytes {
			if err := flush(msgs[start:i]); err != nil {
				return err
			}
			start, size = i, 0
		}
		size += n
	}
	return flush(msgs[start:])
}

// fillIDs reads back the ids of the inserted messages by their unique
// source; multi-row INSERT ids are not portable to rely on.
func (w Writer) fillIDs(tx *gorm.DB, msgs []chat.Message) error {
	ids := make([]int64, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.SourceID)
	}
	type idRow struct {
		ID          int64
		SourceTable string
		SourceID    int64
	}
	var got []idRow
	if err := tx.Raw(`SELECT id, source_table, source_id FROM chat_messages
WHERE source_table IN ('message_sync', 'bot_reply') AND source_id IN ?`, uniq(ids)).Scan(&got).Error; err != nil {
		return fmt.Errorf("read chat history ids: %w", err)
	}
	byKey := make(map[string]int64, len(got))
	for _, g := range got {
		byKey[fmt.Sprintf("%s/%d", g.SourceTable, g.SourceID)] = g.ID
	}
	for i := range msgs {
		msgs[i].ID = byKey[fmt.Sprintf("%s/%d", sourceTable(msgs[i]), msgs[i].SourceID)]
	}
	return nil
}

func (w Writer) insertBotReplies(tx *gorm.DB, msgs []chat.Message, idx []int, now time.Time) error {
	args := make([]any, 0, len(idx)*6)
	for _, i := range idx {
		m := msgs[i]
		args = append(args, m.ConversationKey, m.Body, m.SourceID, m.ID, w.d.Time(now), "bot")
	}
	// delivery_status 'pending': the webhook worker delivers it, when one
	// is configured (sql/mysql/0016_webhooks.sql).
	q := `INSERT INTO message_reply (conversation_key, body, in_reply_to, chat_message_id, created_at, author_name, author_type, delivery_status) VALUES ` +
		repeatJoin("(?, ?, ?, ?, ?, ?, 'bot', 'pending')", len(idx))
	if err := tx.Exec(q, args...).Error; err != nil {
		return fmt.Errorf("insert bot replies: %w", err)
	}
	return nil
}

// searchText is chat_messages.search_text (sql/*/0009_search.sql): the
// message's search terms, with the conversation's key on its first
// message and the sender's name on a customer's message (an agent finds a
// conversation by part of its key and by the customer's name; agents' and
// the bot's names would match every conversation they answered).
func searchText(m chat.Message) string {
	var key, name string
	if m.Seq == 1 {
		key = m.ConversationKey
	}
	if m.SenderType == chat.SenderCustomer {
		name = m.SenderName
	}
	return searchtext.Text(key, name, m.Body)
}

func uniq(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func repeatJoin(s string, n int) string {
	b := make([]byte, 0, n*(len(s)+2))
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, s...)
	}
	return string(b)
}

// AgentSeq takes the next sequence number of conversation convID for an
// agent's reply, and records that a person answered: nobody waits any
// more, answered_by 'agent', wants_agent off, and the first agent reply's
// time (agent_replied_at: the reply target applies from now on). Its UPDATE takes the row
// lock that the relay's upsert takes too, so the two never hand out the
// same seq.
func (w Writer) AgentSeq(tx *gorm.DB, convID int64, at time.Time) (int64, error) {
	t := w.d.Time(at)
	res := tx.Exec(`UPDATE conversations
   SET last_seq = last_seq + 1, waiting_since = NULL, answered_by = 'agent', wants_agent = FALSE,
       agent_replied_at = COALESCE(agent_replied_at, ?), last_message_at = ?, updated_at = ?
 WHERE id = ?`, t, t, t, convID)
	if res.Error != nil {
		return 0, fmt.Errorf("bump last_seq: %w", res.Error)
	}
	var seq int64
	if err := tx.Raw(`SELECT last_seq FROM conversations WHERE id = ?`, convID).Row().Scan(&seq); err != nil {
		return 0, fmt.Errorf("read last_seq: %w", err)
	}
	return seq, nil
}

// AgentReply is an agent's reply at the seq AgentSeq gave it.
type AgentReply struct {
	ConversationKey string
	Seq             int64
	Author, Body    string
	ClientID        string // the console's id, unique per conversation
	InReplyTo       int64  // message_sync.id of the customer message answered; 0 for none
	At              time.Time
}

// AppendAgentReply inserts the reply into chat_messages and, for the
// legacy application, message_reply ('pending', and 'pending' for the
// webhook worker), and returns the chat
// message's id.
func (w Writer) AppendAgentReply(tx *gorm.DB, r AgentReply) (int64, error) {
	at := w.d.Time(r.At)
	ctx, pool := tx.Statement.Context, tx.Statement.ConnPool
	id, err := w.d.InsertID(ctx, pool, `INSERT INTO chat_messages
  (conversation_key, seq, sender_type, sender_name, kind, body, client_id, created_at, search_text)
  VALUES (?, ?, 'agent', ?, 'message', ?, ?, ?, ?)`,
		r.ConversationKey, r.Seq, r.Author, r.Body, r.ClientID, at, searchtext.Text(r.Body))
	if err != nil {
		return 0, fmt.Errorf("insert chat message: %w", err)
	}
	var inReplyTo any
	if r.InReplyTo != 0 {
		inReplyTo = r.InReplyTo
	}
	if _, err := w.d.InsertID(ctx, pool, `INSERT INTO message_reply
  (conversation_key, body, status, author_type, author_name, in_reply_to, chat_message_id, created_at, delivery_status)
  VALUES (?, ?, 'pending', 'agent', ?, ?, ?, ?, 'pending')`,
		r.ConversationKey, r.Body, r.Author, inReplyTo, id, at); err != nil {
		return 0, fmt.Errorf("insert message_reply: %w", err)
	}
	return id, nil
}

// Resolve closes a conversation; it also clears waiting_since and
// wants_agent: nobody waits on a resolved conversation, and
// agent_replied_at: once reopened, it waits for a first response again. A
// new customer message reopens it (the relay's upsert sets state 'open').
func (w Writer) Resolve(tx *gorm.DB, convID int64, at time.Time) error {
	return w.setConversation(tx, convID, at, `state = 'resolved', waiting_since = NULL, wants_agent = FALSE, agent_replied_at = NULL`)
}

// Reopen sets a conversation open again.
func (w Writer) Reopen(tx *gorm.DB, convID int64, at time.Time) error {
	return w.setConversation(tx, convID, at, `state = 'open'`)
}

// setConversation runs UPDATE conversations SET set, args bound to set's
// placeholders.
func (w Writer) setConversation(tx *gorm.DB, convID int64, at time.Time, set string, args ...any) error {
	args = append(args, w.d.Time(at), convID)
	if err := tx.Exec(`UPDATE conversations SET `+set+`, updated_at = ? WHERE id = ?`, args...).Error; err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	return nil
}

// NoteSeq takes the next sequence number of conversation convID for an
// agent's private note. Unlike AgentSeq it leaves the waiting state,
// answered_by and last_message_at alone: a note answers nobody, and the
// customer still waits. It takes the same row lock as AgentSeq and the
// relay's upsert.
func (w Writer) NoteSeq(tx *gorm.DB, convID int64, at time.Time) (int64, error) {
	res := tx.Exec(`UPDATE conversations SET last_seq = last_seq + 1, updated_at = ? WHERE id = ?`, w.d.Time(at), convID)
	if res.Error != nil {
		return 0, fmt.Errorf("bump last_seq for a note: %w", res.Error)
	}
	var seq int64
	if err := tx.Raw(`SELECT last_seq FROM conversations WHERE id = ?`, convID).Row().Scan(&seq); err != nil {
		return 0, fmt.Errorf("read last_seq: %w", err)
	}
	return seq, nil
}

// AgentNote is an agent's private note at the seq NoteSeq gave it.
type AgentNote struct {
	ConversationKey string
	Seq             int64
	Author, Body    string
	ClientID        string // the console's id, unique per conversation
	At              time.Time
}

// AppendNote inserts a private note into chat_messages (sender_type
// 'agent', kind 'note') and returns its id. It writes nothing to
// message_reply: the legacy application never sees a note.
func (w Writer) AppendNote(tx *gorm.DB, n AgentNote) (int64, error) {
	id, err := w.d.InsertID(tx.Statement.Context, tx.Statement.ConnPool, `INSERT INTO chat_messages
  (conversation_key, seq, sender_type, sender_name, kind, body, client_id, created_at)
  VALUES (?, ?, 'agent', ?, ?, ?, ?, ?)`,
		n.ConversationKey, n.Seq, n.Author, chat.KindNote, n.Body, n.ClientID, w.d.Time(n.At))
	if err != nil {
		return 0, fmt.Errorf("insert note: %w", err)
	}
	return id, nil
}
