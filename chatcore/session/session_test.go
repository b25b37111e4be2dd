package session

import (
	"strings"
	"testing"
	"time"
)

func TestCodec(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	sc := NewCodec([]byte("0123456789abcdef0123456789abcdef"), time.Hour)
	s := sc.Issue("alice", 3, now)
	v, err := sc.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sc.Decode(v, now.Add(59*time.Minute))
	if err != nil || got != s {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	other := NewCodec([]byte("another secret, just as long as it must be"), time.Hour)
	payload, sig, _ := strings.Cut(v, ".")
	forged, _ := other.Encode(s)
	for _, tc := range []struct {
		name, value string
		at          time.Time
	}{
		{"expired", v, now.Add(time.Hour)},
		{"other secret", forged, now},
		{"no signature", payload, now},
		{"empty", "", now},
		{"bad signature", payload + "." + sig[:len(sig)-2] + "xx", now},
		{"changed payload", b64.EncodeToString([]byte(`{"u":"root","v":3,"iat":1,"exp":9999999999}`)) + "." + sig, now},
		{"not base64", "%%%." + sig, now},
		{"huge", strings.Repeat("a", 2000) + "." + sig, now},
	} {
		if _, err := sc.Decode(tc.value, tc.at); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if c := sc.Cookie(v, s.ExpiresAt(), false); !c.HttpOnly || c.Secure || c.Path != "/" || c.Name != CookieName {
		t.Errorf("cookie = %+v", c)
	}
	if c := sc.Cookie(v, s.ExpiresAt(), true); !c.Secure {
		t.Errorf("secure cookie is not Secure")
	}
}
