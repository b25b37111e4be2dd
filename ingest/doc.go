// Package ingest is syncd's HTTP ingest API: POST /api/v1/messages (a
// customer message) and POST /api/v1/events (a business event such as
// order_created), for systems that can call HTTP instead of writing rows,
// and GET /api/v1/messages/{id} for a row's status (docs/openapi.yaml).
//
// A request writes one message_sync row through the store, exactly as a
// legacy writer's INSERT would, so the relay claims it, relays it once and
// keeps its conversation's order like any other row. What the relay would
// fail (bridge.Bridge.Invalid: key, body, kind, payload, sizes, UTF-8) is
// refused with 422 and the same reason instead of becoming a failed row.
//
// Requests are authenticated by API keys (`syncd apikey add|list|revoke`):
// "Authorization: Bearer sk_syncd_…", stored as SHA-256 hashes, checked in
// the database with a cache of a few seconds, so a revoked key is refused
// on every instance within ingest.key_cache. Each key is rate-limited per
// instance (ingest.rate, ingest.burst). An Idempotency-Key header becomes
// the row's source_ref 'api:NAME:KEY' (0013_source_ref): a repeat returns
// the first row. There are no cookies and no CORS: a browser page cannot
// call this API with an agent's session.
package ingest
