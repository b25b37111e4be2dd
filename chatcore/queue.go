package chatcore

import "sync"

// sendQueue holds the frames waiting for one connection's writer. It is
// bounded in bytes, not frames: a client that lets more than limit bytes pile
// up is too slow and is dropped, so it never holds anyone else up. The
// frames themselves are shared between connections; the bound is on how far
// behind a client may fall.
type sendQueue struct {
	mu      sync.Mutex
	frames  []*frame
	bytes   int
	limit   int
	closing bool // set once; the writer sends the close frame and stops
	code    int
	text    string
}

// push queues fs, all or none. It reports false when they would pass the
// limit; the queue is then closing (code 4008) and empty. Frames pushed to a
// closing queue are dropped and push reports true.
func (q *sendQueue) push(fs ...*frame) bool {
	n := 0
	for _, f := range fs {
		n += f.size
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return true
	}
	if q.bytes+n > q.limit {
		q.closeLocked(CloseTooSlow, "too slow")
		return false
	}
	q.frames = append(q.frames, fs...)
	q.bytes += n
	return true
}

// close marks the queue closing with a close code; it reports false when it
// was closing already.
func (q *sendQueue) close(code int, text string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false
	}
	q.closeLocked(code, text)
	return true
}

func (q *sendQueue) closeLocked(code int, text string) {
	q.closing, q.code, q.text = true, code, text
	q.frames, q.bytes = nil, 0
}

// take hands the queued frames to the writer, swapping in spare (emptied)
// as the next queue so that a busy connection reuses two slices instead of
// allocating one per batch. The taken frames' bytes still count against the
// limit until the writer reports them written, so that frames stuck in a
// blocked write are part of the backlog. When the queue is closing, take
// returns no frames and the close code to send.
func (q *sendQueue) take(spare []*frame) (fs []*frame, closing bool, code int, text string) {
	clear(spare)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return nil, true, q.code, q.text
	}
	fs = q.frames
	q.frames = spare[:0]
	return fs, false, 0, ""
}

// written releases the bytes of a frame the writer has sent.
func (q *sendQueue) written(f *frame) {
	q.mu.Lock()
	if !q.closing {
		q.bytes -= f.size
	}
	q.mu.Unlock()
}

// isClosing lets the writer stop between two frames of one batch.
func (q *sendQueue) isClosing() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closing
}
