// Package session signs and checks the console's session cookies. The
// server keeps no session state: an HMAC-SHA256 signature proves a cookie
// was issued with the deployment's secret, the agent's session_version in
// it lets `syncd agent passwd` and `disable` end every session at once,
// and an expiry bounds it.
package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CookieName is the name of the console's session cookie.
const CookieName = "syncd_session"

// ErrBad covers every way a cookie can fail: missing, malformed, forged,
// expired. Callers answer 401 and need no detail.
var ErrBad = errors.New("no valid session")

// Session is what the signed cookie carries: Version ties it to the
// agent's current session_version, Expires bounds it.
type Session struct {
	Username string `json:"u"`
	Version  int64  `json:"v"`
	Issued   int64  `json:"iat"` // unix seconds
	Expires  int64  `json:"exp"` // unix seconds
}

// ExpiresAt is when the session ends.
func (s Session) ExpiresAt() time.Time { return time.Unix(s.Expires, 0) }

// Codec signs and checks session cookies with HMAC-SHA256.
type Codec struct {
	key []byte
	ttl time.Duration
}

// NewCodec derives the codec's key from the deployment's secret; its
// sessions last ttl.
func NewCodec(secret []byte, ttl time.Duration) *Codec {
	// Derive the MAC key so that the configured secret is never used
	// directly, and another use of it cannot produce a valid cookie.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("syncd console session v1"))
	return &Codec{key: m.Sum(nil), ttl: ttl}
}

var b64 = base64.RawURLEncoding

func (sc *Codec) mac(payload string) []byte {
	m := hmac.New(sha256.New, sc.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Encode returns the cookie value "payload.signature", both base64url.
func (sc *Codec) Encode(s Session) (string, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	payload := b64.EncodeToString(raw)
	return payload + "." + b64.EncodeToString(sc.mac(payload)), nil
}

// Decode checks the signature and the expiry and returns the session.
func (sc *Codec) Decode(value string, now time.Time) (Session, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || len(value) > 1024 {
		return Session{}, ErrBad
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, sc.mac(payload)) {
		return Session{}, ErrBad
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return Session{}, ErrBad
	}
	var s Session
	if err := json.Unmarshal(raw, &s); err != nil || s.Username == "" {
		return Session{}, ErrBad
	}
	if !now.Before(s.ExpiresAt()) {
		return Session{}, ErrBad
	}
	return s, nil
}

// Issue returns a new session for the agent username at its
// session_version.
func (sc *Codec) Issue(username string, version int64, now time.Time) Session {
	return Session{Username: username, Version: version,
		Issued: now.Unix(), Expires: now.Add(sc.ttl).Unix()}
}

// Cookie builds the Set-Cookie for a session value ("" clears it):
// HttpOnly, SameSite=Strict, Path=/, Secure when secure is set.
func (sc *Codec) Cookie(value string, expires time.Time, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   secure,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = int(time.Until(expires).Seconds())
	}
	return c
}
