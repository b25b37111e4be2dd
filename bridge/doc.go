// Package bridge turns claimed message_sync rows into chat messages: it
// validates each row (an invalid one fails at once with a reason and is not
// retried), makes business events system notes of their conversation, and
// asks the bot for its verdict. It decides; the store writes.
package bridge
