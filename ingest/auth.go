package ingest

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/syncd-dev/syncd/store"
)

// Keys is where keys are looked up: the store.
type Keys interface {
	APIKeyByHash(ctx context.Context, hash string) (store.APIKey, error)
}

// maxCached bounds the key cache: keys are few, but each distinct
// well-formed token that is found costs an entry.
const maxCached = 4096

// keyCache remembers what the database said of a key for ttl, so that a
// busy key costs one read every ttl, and a revocation takes at most ttl to
// reach every instance. Unknown tokens are not remembered: a new key works
// at once.
type keyCache struct {
	keys Keys
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]cachedKey // by hash
}

type cachedKey struct {
	key     store.APIKey
	expires time.Time
}

// authError: the token is no key in force (not a key, unknown or revoked;
// the message says which), a 401.
type authError struct{ msg string }

func (e authError) Error() string { return e.msg }

func (c *keyCache) lookup(ctx context.Context, token string) (store.APIKey, error) {
	if !wellFormed(token) {
		return store.APIKey{}, authError{"not a syncd API key (they start with " + KeyPrefix + ")"}
	}
	hash := HashKey(token)
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		k, err := c.keys.APIKeyByHash(ctx, hash)
		if errors.Is(err, store.ErrNoAPIKey) {
			return k, authError{"unknown API key"}
		}
		if err != nil {
			return k, err
		}
		e = cachedKey{key: k, expires: now.Add(c.ttl)}
		if c.ttl > 0 {
			c.mu.Lock()
			if len(c.entries) >= maxCached {
				clear(c.entries) // refilled from the database as keys come back
			}
			c.entries[hash] = e
			c.mu.Unlock()
		}
	}
	// The database found the row by hash; compare again in constant time
	// so that no answer depends on how much of a hash matched.
	if subtle.ConstantTimeCompare([]byte(e.key.Hash), []byte(hash)) != 1 {
		return store.APIKey{}, authError{"unknown API key"}
	}
	if e.key.Revoked() {
		return e.key, authError{"API key revoked"}
	}
	return e.key, nil
}

// bearer returns the token of "Authorization: Bearer TOKEN", or "".
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
