// Package freelist keeps a few reusable values between calls.
//
// Unlike a sync.Pool, garbage collection does not empty it. The relay
// collects every few milliseconds, and buffers in a pool were reallocated
// and cleared for nearly every batch.
package freelist

// List holds up to its size of values; Get makes a new one when it is empty
// and Put drops what does not fit, or what keep refuses.
type List[T any] struct {
	free     chan T
	newValue func() T
	keep     func(T) bool
}

// New returns a List of up to size values. newValue builds a value when the
// list is empty; keep, if not nil, says whether a returned value is worth
// keeping.
func New[T any](size int, newValue func() T, keep func(T) bool) *List[T] {
	return &List[T]{free: make(chan T, size), newValue: newValue, keep: keep}
}

// Get returns a kept value, or a new one.
func (l *List[T]) Get() T {
	select {
	case v := <-l.free:
		return v
	default:
		return l.newValue()
	}
}

// Put keeps v for a later Get, unless keep refuses it or the list is full.
func (l *List[T]) Put(v T) {
	if l.keep != nil && !l.keep(v) {
		return
	}
	select {
	case l.free <- v:
	default:
	}
}
