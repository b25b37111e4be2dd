package ingest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// KeyPrefix starts every key, so that a leaked one is recognised (secret
// scanners, logs) and a wrong token is refused without a database read.
const KeyPrefix = "sk_syncd_"

// Scope is the scope of ingest keys.
const Scope = "ingest"

// keyLen is the length of a key: the prefix and 256 random bits in
// unpadded base64url.
var keyLen = len(KeyPrefix) + base64.RawURLEncoding.EncodedLen(32)

// NewKey makes a key: the secret to show once, its hash to store, and the
// prefix by which `syncd apikey list` tells keys apart.
func NewKey() (key, hash, shown string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", fmt.Errorf("make API key: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashKey(key), key[:len(KeyPrefix)+6], nil
}

// HashKey is what api_keys.key_hash holds for key: hex SHA-256. A key has
// 256 random bits, so a slow hash would add nothing but latency.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether s can be a key at all.
func wellFormed(s string) bool {
	if len(s) != keyLen || !strings.HasPrefix(s, KeyPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(KeyPrefix):])
	return err == nil
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidName checks a key's name: it goes into its rows' source_ref
// ('api:NAME:…'), so it is short and plain.
func ValidName(name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("API key name %q: use 1 to 32 of a-z, 0-9, _ and -, starting with a letter or digit", name)
	}
	return nil
}

// MaxIdempotencyKey bounds the Idempotency-Key header, so that 'api:' +
// name + ':' + key fits source_ref (191 characters).
const MaxIdempotencyKey = 128

// checkIdempotencyKey returns why an Idempotency-Key cannot be used, or "".
func checkIdempotencyKey(k string) string {
	if k == "" || len(k) > MaxIdempotencyKey {
		return fmt.Sprintf("Idempotency-Key must be 1 to %d characters", MaxIdempotencyKey)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "Idempotency-Key must be printable ASCII without spaces"
		}
	}
	return ""
}

// sourceRef is the row's source_ref for key name and idempotency key idem.
func sourceRef(name, idem string) string { return "api:" + name + ":" + idem }

// randomRef is the idempotency part of a request that sent none: every API
// row is recognisable by its 'api:NAME:' prefix all the same.
func randomRef() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make a row reference: %w", err)
	}
	return "auto-" + hex.EncodeToString(b[:]), nil
}
