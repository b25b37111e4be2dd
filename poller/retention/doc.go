// Package retention deletes finished rows once they are older than the
// configured horizons (retention.* in the configuration): sent and failed
// message_sync rows, message_reply rows marked done, chat history and the
// conversations it leaves empty. One instance at a time runs a pass (the
// holder of the "retention" lock); a pass deletes in batches of a few
// thousand rows by primary key, each a short transaction, and pauses
// between them so that the relay and the legacy writers go on. Rows in
// flight are never deleted: which rows qualify is the store's (store.
// PurgeBatch) and chat/history's to say.
package retention
