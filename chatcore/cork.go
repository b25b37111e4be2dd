package chatcore

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// corkConn lets the writer put several frames on the wire with one write:
// between cork and flush, writes gather in a pooled buffer. Gorilla writes
// each frame with its own Write call, so without this a batch of n
// messages (the relay publishes batches) costs n system calls per socket.
// Writes made while not corked, such as gorilla answering a ping from the
// reader goroutine, go straight through; every Write is a whole frame, so
// frames never interleave.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte
}

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.corked {
		*c.buf = append(*c.buf, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.buf = corkPool.Get().(*[]byte)
	c.mu.Unlock()
}

// flush writes what was gathered, in one write, and stops gathering.
func (c *corkConn) flush() error {
	c.mu.Lock()
	b := c.buf
	c.corked, c.buf = false, nil
	c.mu.Unlock()
	if b == nil {
		return nil
	}
	_, err := c.Conn.Write(*b)
	if cap(*b) <= 256<<10 { // do not keep a huge one around
		*b = (*b)[:0]
		corkPool.Put(b)
	}
	return err
}

// corkWriter hands gorilla's Upgrade a corkConn when it hijacks the
// connection.
type corkWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	return w.conn, brw, nil
}
