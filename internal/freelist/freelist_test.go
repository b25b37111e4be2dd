package freelist

import "testing"

// A kept value comes back; one beyond the list's room, or one keep
// refuses, is dropped, and Put never blocks.
func TestListKeepsOnlyWhatFits(t *testing.T) {
	l := New(1, func() *[]byte { b := make([]byte, 0, 8); return &b }, func(b *[]byte) bool { return cap(*b) <= 64 })
	kept := l.Get()
	l.Put(kept)
	l.Put(l.newValue()) // full: dropped
	if got := l.Get(); got != kept {
		t.Fatal("the kept value did not come back")
	}
	big := make([]byte, 0, 65)
	l.Put(&big)
	if got := l.Get(); got == &big {
		t.Fatal("a value keep refuses was kept")
	}
}
