package loginstate

import (
	"context"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(0, 0)
	s := NewMemory(2)
	s.now = func() time.Time { return now }
	b := Bucket{Burst: 2, Every: time.Minute}
	for i, want := range []bool{true, true, false} {
		if ok, _, _, _ := s.Take(ctx, "a", b, 1); ok != want {
			t.Fatalf("attempt %d: %v", i, ok)
		}
	}
	if ok, _, wait, _ := s.Take(ctx, "a", b, 1); ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("limited: ok %v wait %v", ok, wait)
	}
	if _, left, _, _ := s.Take(ctx, "a", b, 0); left != 0 {
		t.Fatalf("look at an empty bucket: %d left", left)
	}
	now = now.Add(time.Minute)
	if ok, _, _, _ := s.Take(ctx, "a", b, 1); !ok {
		t.Fatal("no token after the interval")
	}
	if ok, left, _, _ := s.Take(ctx, "b", b, 1); !ok || left != 1 {
		t.Fatalf("another key: %v, %d left", ok, left)
	}
	_ = s.Reset(ctx, "a")
	if _, left, _, _ := s.Take(ctx, "a", b, 0); left != 2 {
		t.Fatalf("after reset: %d left", left)
	}
	_ = s.Remember(ctx, "k", time.Hour)
	if ok, _ := s.Remembered(ctx, "k"); !ok {
		t.Fatal("not remembered")
	}
	now = now.Add(2 * time.Hour)
	if ok, _ := s.Remembered(ctx, "k"); ok {
		t.Fatal("remembered past its ttl")
	}
}
