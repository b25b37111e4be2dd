// Package webhook POSTs agent and bot replies (message_reply rows) to the
// operator's URL, signed with HMAC-SHA256, retried with exponential
// backoff, their delivery state kept with the row (chat/history writes it).
//
// Delivery is claimed like the relay's rows: one instance at a time holds
// the lock "webhook" and claims a batch under a token and a lease; each
// result is written back only while the token still holds the row, and a
// lease that ran out (its holder died) is taken back. A reply is POSTed
// only while its lease outlasts the POST's timeout, so two instances never
// deliver it at once; a crash between a POST and its write-back delivers
// it again (at least once): receivers drop repeats by Syncd-Delivery.
// docs/protocol.md describes the payload and headers.
package webhook
