// Package credentials holds the console's rules for agents' usernames and
// passwords, and bcrypt: hashing a new password and checking one at login
// in the same time whether the agent exists or not.
package credentials

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Password rules. bcrypt reads at most 72 bytes, so longer passwords are
// refused rather than silently cut.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 72
	MaxUsernameLen = 64
)

// ErrInvalid marks input that breaks a rule (username or password form).
var ErrInvalid = errors.New("invalid")

// NormalizeUsername lower-cases and trims a username as typed at login.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateUsername checks a username for `syncd agent add`: 1 to 64
// characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.
func ValidateUsername(s string) error {
	if s == "" || len(s) > MaxUsernameLen {
		return fmt.Errorf("%w username: must be 1 to %d characters", ErrInvalid, MaxUsernameLen)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return fmt.Errorf("%w username %q: use lower-case letters, digits, '.', '_' and '-'", ErrInvalid, s)
		}
	}
	return nil
}

// HashPassword checks the password rules and returns its bcrypt hash.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return "", fmt.Errorf("%w password: must be %d to %d bytes", ErrInvalid, MinPasswordLen, MaxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the username is unknown or disabled,
// so that a failed login takes as long whatever the reason.
// It is made on first use: bcrypt is slow by design.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("syncd-no-such-agent"), bcrypt.DefaultCost)
	return h
})

// Check reports whether password matches hash; with hash "" it spends
// the same time and reports false.
func Check(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}
