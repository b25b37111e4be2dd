package chatcore

import (
	"context"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// Ops is what the admins' ops page reads and does: what `syncd status`
// shows and what `syncd requeue` does. cmd/syncd implements it over the
// relay's store and locks; chatcore needs no SQL for it.
type Ops interface {
	Status(ctx context.Context) (OpsStatus, error)
	Requeue(ctx context.Context, r OpsRequeue) (OpsRequeued, error)
}

// OpsStatus is the relay's backlog as `syncd status --json` shows it, and
// the failed rows grouped by reason.
type OpsStatus struct {
	Rows                    map[string]int64 `json:"rows"` // by status
	Unrecognised            int64            `json:"unrecognised_status"`
	OldestPendingAgeSeconds float64          `json:"oldest_pending_age_seconds"` // 0 when none is pending
	OrphanedProcessing      int64            `json:"orphaned_processing"`
	Claims                  []OpsClaim       `json:"claims"`
	Locks                   string           `json:"locks"`  // redis, or in-process
	Shards                  []OpsShard       `json:"shards"` // empty with in-process locks
	// Failed are the failed rows' reasons, most rows first, at most
	// MaxOpsReasons of them.
	Failed []OpsFailure `json:"failed"`
}

// MaxOpsReasons bounds OpsStatus.Failed.
const MaxOpsReasons = 20

// OpsClaim is a claimed batch not yet written back.
type OpsClaim struct {
	ClaimedBy  string    `json:"claimed_by"`
	BucketLo   int       `json:"bucket_lo"`
	BucketHi   int       `json:"bucket_hi"` // exclusive
	LeaseUntil time.Time `json:"lease_until"`
	CreatedAt  time.Time `json:"created_at"`
}

// OpsShard is who holds one shard's lock; Holder is "" when nobody does.
type OpsShard struct {
	Shard  string `json:"shard"`
	Holder string `json:"holder"`
}

// OpsFailure is one reason failed rows have and how many have it.
// Invalid rows are requeued only with force: as they are, they fail again.
type OpsFailure struct {
	Reason  string `json:"reason"`
	Rows    int64  `json:"rows"`
	Invalid bool   `json:"invalid"`
}

// OpsRequeue narrows a requeue of failed rows; empty fields match every
// failed row.
type OpsRequeue struct {
	ConversationKey string `json:"conversation_key"`
	ErrorContains   string `json:"error_contains"`
	Force           bool   `json:"force"` // also rows that failed as invalid
}

// OpsRequeued is what a requeue did: rows back to pending, and the rows
// left alone as invalid (without force), a few of them with their reason.
type OpsRequeued struct {
	Requeued      int64        `json:"requeued"`
	Invalid       int64        `json:"invalid_skipped"`
	InvalidSample []OpsSkipped `json:"invalid_sample"`
}

// OpsSkipped is a row a requeue left alone, and why.
type OpsSkipped struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

// maxOpsFilter bounds each requeue filter's text (a conversation key is
// at most 255 bytes in message_sync).
const maxOpsFilter = 255

func (c *Core) handleOpsStatus(w http.ResponseWriter, r *http.Request) {
	if c.o.Ops == nil {
		writeError(w, http.StatusServiceUnavailable, "ops are not available on this instance (no relay store configured)")
		return
	}
	st, err := c.o.Ops.Status(r.Context())
	if err != nil {
		c.serverError(w, r, "read the relay's status", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (c *Core) handleOpsRequeue(w http.ResponseWriter, r *http.Request) {
	if c.o.Ops == nil {
		writeError(w, http.StatusServiceUnavailable, "ops are not available on this instance (no relay store configured)")
		return
	}
	var req OpsRequeue
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	for name, v := range map[string]string{"conversation_key": req.ConversationKey, "error_contains": req.ErrorContains} {
		if len(v) > maxOpsFilter || !utf8.ValidString(v) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s must be valid UTF-8 of at most %d bytes", name, maxOpsFilter))
			return
		}
	}
	res, err := c.o.Ops.Requeue(r.Context(), req)
	if err != nil {
		c.serverError(w, r, "requeue failed rows", err)
		return
	}
	if res.InvalidSample == nil {
		res.InvalidSample = []OpsSkipped{}
	}
	c.log.InfoContext(r.Context(), "failed rows requeued from the console", "admin", agentFrom(r.Context()).agent.Username,
		"conversation_key", req.ConversationKey, "error_contains", req.ErrorContains, "force", req.Force,
		"requeued", res.Requeued, "invalid_skipped", res.Invalid)
	writeJSON(w, http.StatusOK, res)
}
