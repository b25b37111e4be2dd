package chatcore

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

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "syncd_session"

// errBadSession covers every way a cookie can fail: missing, malformed,
// forged, expired. Callers answer 401 and need no detail.
var errBadSession = errors.New("no valid session")

// session is what the signed cookie carries. The server keeps no session
// state: the signature proves the cookie was issued here, Version ties it to
// the agent's current session_version, Expires bounds it.
type session struct {
	Username string `json:"u"`
	Version  int64  `json:"v"`
	Issued   int64  `json:"iat"` // unix seconds
	Expires  int64  `json:"exp"` // unix seconds
}

func (s session) expiresAt() time.Time { return time.Unix(s.Expires, 0) }

// sessionCodec signs and checks session cookies with HMAC-SHA256.
type sessionCodec struct {
	key []byte
	ttl time.Duration
}

func newSessionCodec(secret []byte, ttl time.Duration) *sessionCodec {
	// Derive the MAC key so that the configured secret is never used
	// directly, and another use of it cannot produce a valid cookie.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("syncd console session v1"))
	return &sessionCodec{key: m.Sum(nil), ttl: ttl}
}

var b64 = base64.RawURLEncoding

func (sc *sessionCodec) mac(payload string) []byte {
	m := hmac.New(sha256.New, sc.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// encode returns the cookie value "payload.signature", both base64url.
func (sc *sessionCodec) encode(s session) (string, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	payload := b64.EncodeToString(raw)
	return payload + "." + b64.EncodeToString(sc.mac(payload)), nil
}

// decode checks the signature and the expiry and returns the session.
func (sc *sessionCodec) decode(value string, now time.Time) (session, error) {
	payload, sig, ok := strings.Cut(value, ".")
	if !ok || len(value) > 1024 {
		return session{}, errBadSession
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, sc.mac(payload)) {
		return session{}, errBadSession
	}
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return session{}, errBadSession
	}
	var s session
	if err := json.Unmarshal(raw, &s); err != nil || s.Username == "" {
		return session{}, errBadSession
	}
	if !now.Before(s.expiresAt()) {
		return session{}, errBadSession
	}
	return s, nil
}

// issue returns a new session for an agent.
func (sc *sessionCodec) issue(a Agent, now time.Time) session {
	return session{Username: a.Username, Version: a.SessionVersion,
		Issued: now.Unix(), Expires: now.Add(sc.ttl).Unix()}
}

// cookie builds the Set-Cookie for s: HttpOnly, SameSite=Strict, Path=/,
// Secure when secure is set (see Core.secureCookie).
func (sc *sessionCodec) cookie(value string, expires time.Time, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name:     SessionCookie,
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
