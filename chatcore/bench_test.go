package chatcore_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/syncd-dev/syncd/chat"
	"github.com/syncd-dev/syncd/chatcore"
)

// raiseFDLimit lifts RLIMIT_NOFILE to at least n (up to the hard limit);
// both ends of every loopback connection live in this process.
func raiseFDLimit(b *testing.B, n uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Fatal(err)
	}
	if rl.Cur >= n {
		return
	}
	if rl.Max < n {
		// Raising the hard limit needs root (CAP_SYS_RESOURCE); try.
		hard := syscall.Rlimit{Cur: n, Max: n}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &hard) == nil {
			return
		}
	}
	rl.Cur = min(max(n, rl.Cur), rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Fatalf("raise the fd limit to %d: %v", n, err)
	}
	if rl.Cur < n {
		b.Skipf("fd limit %d < %d needed", rl.Cur, n)
	}
}

// oneAgentSockets lets the benchmarks' one agent hold n sockets: every
// client logs in as alice, past the default MaxSocketsPerAgent.
func oneAgentSockets(n int) func(*chatcore.Options) {
	return func(o *chatcore.Options) { o.MaxSocketsPerAgent = n + 1 }
}

// rawDial opens a WebSocket with a hand-written handshake and reads the
// hello frame, using no goroutine and no buffer that outlives the call, so
// that the memory measured is the server's (plus one client socket).
func rawDial(addr, cookie string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: " + cookie + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	var buf [1024]byte
	n := 0
	for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		m, err := c.Read(buf[n:])
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("read handshake: %w", err)
		}
		n += m
	}
	if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 101")) {
		c.Close()
		return nil, fmt.Errorf("handshake: %q", buf[:n])
	}
	rest := n - (bytes.Index(buf[:n], []byte("\r\n\r\n")) + 4)
	// The hello frame: 2 header bytes and a short text payload.
	for rest < 2 || rest < 2+int(buf[n-rest+1]&0x7f) {
		m, err := c.Read(buf[n:])
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("read hello: %w", err)
		}
		n += m
		rest += m
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

type memUse struct{ heap, stack uint64 }

func (m memUse) total() uint64 { return m.heap + m.stack }

func heapAndStack() memUse {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memUse{heap: ms.HeapInuse, stack: ms.StackInuse}
}

// holdEnv makes the test binary a client process that holds connections
// open: SYNCD_BENCH_HOLD=addr|cookie|count. The clients live in their own
// process so that the fd limit counts one end of each connection per
// process, and the server's memory is measured alone.
const holdEnv = "SYNCD_BENCH_HOLD"

// holdConnections opens the connections, prints "ready", and closes them
// when stdin closes.
func holdConnections() int {
	parts := strings.SplitN(os.Getenv(holdEnv), "|", 3)
	n, _ := strconv.Atoi(parts[2])
	var rl syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	rl.Cur = rl.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	open := make([]net.Conn, n)
	var failed atomic.Bool
	var wg sync.WaitGroup
	const dialers = 8
	for w := range dialers {
		wg.Go(func() {
			for i := w; i < n; i += dialers {
				c, err := rawDial(parts[0], parts[1])
				if err != nil {
					fmt.Fprintf(os.Stderr, "connection %d: %v\n", i, err)
					failed.Store(true)
					return
				}
				open[i] = c
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range open {
		c.Close()
	}
	return 0
}

// BenchmarkIdleConnections holds 10,000 idle WebSockets on one instance and
// reports the memory (heap in use + goroutine stacks) each one costs the
// server. The client ends live in a child process.
//
//	go test ./chatcore -run '^$' -bench IdleConnections -benchtime 1x
func BenchmarkIdleConnections(b *testing.B) {
	const conns = 10000
	raiseFDLimit(b, conns+1000)
	bd := setup(b, setupOpts{mutate: oneAgentSockets(conns)})
	cookie := bd.login(b, "alice").cookieHeader()
	addr := strings.TrimPrefix(bd.srv.URL, "http://")
	for range b.N {
		before := heapAndStack()
		goroutines := runtime.NumGoroutine()
		start := time.Now()
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", holdEnv, addr, cookie, conns))
		child.Stderr = os.Stderr
		stdin, err := child.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := child.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			_ = child.Wait()
			b.Fatalf("client process: %q", line)
		}
		setupTime := time.Since(start)
		for bd.core.Stats().Connections < conns {
			time.Sleep(10 * time.Millisecond)
		}
		after := heapAndStack()
		per := float64(after.total()-before.total()) / conns
		b.ReportMetric(per, "B/conn")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/conns, "goroutines/conn")
		b.Logf("%d idle connections: %.0f bytes each (heap %.0f + stacks %.0f), %.1f MiB in all; opened in %v",
			conns, per, float64(after.heap-before.heap)/conns, float64(after.stack-before.stack)/conns,
			float64(after.total()-before.total())/(1<<20), setupTime.Round(time.Millisecond))
		stdin.Close()
		if err := child.Wait(); err != nil {
			b.Fatalf("client process: %v", err)
		}
		for bd.core.Stats().Connections > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// BenchmarkFanout pushes messages from Publish to many sockets at a paced
// rate and reports deliveries per second and the publish-to-read latency
// percentiles. The clients run in the same process and share the two
// cores with the server.
//
//	go test ./chatcore -run '^$' -bench Fanout -benchtime 200x
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct {
		clients, rate int // rate: deliveries per second asked for
		batch         int // messages per Publish; 0: spread evenly
	}{
		{100, 20000, 0},
		{250, 50000, 0},
		{1000, 20000, 0},
		{1000, 50000, 0},
		{1000, 20000, 20},
		{1000, 100000, 50},
		{5000, 20000, 0},
		{10000, 20000, 0},
	} {
		name := fmt.Sprintf("clients=%d/rate=%d", tc.clients, tc.rate)
		if tc.batch > 0 {
			name += fmt.Sprintf("/batch=%d", tc.batch)
		}
		b.Run(name, func(b *testing.B) { benchFanout(b, tc.clients, tc.rate, tc.batch, false) })
	}
}

// BenchmarkFanoutTyping is BenchmarkFanout with every client watching one
// of the 50 conversations, without and with typing frames: in typing=on a
// tenth of the clients type all the time, one frame every 2 s as the
// console sends them, each reaching the watchers of its conversation. Run
// the two interleaved (docs/benchmarks.md):
//
//	go test ./chatcore -run '^$' -bench 'FanoutTyping/clients=1000/typing=off' -benchtime 200x
func BenchmarkFanoutTyping(b *testing.B) {
	for _, tc := range []struct{ clients, rate int }{{250, 50000}, {1000, 20000}} {
		for _, on := range []bool{false, true} {
			name := fmt.Sprintf("clients=%d/rate=%d/typing=%s", tc.clients, tc.rate, map[bool]string{false: "off", true: "on"}[on])
			b.Run(name, func(b *testing.B) { benchFanout(b, tc.clients, tc.rate, 0, on) })
		}
	}
}

func benchFanout(b *testing.B, clients, rate, batchSize int, typing bool) {
	raiseFDLimit(b, uint64(clients+1000))
	bd := setup(b, setupOpts{mutate: oneAgentSockets(clients)})
	cookie := bd.login(b, "alice").cookieHeader()
	addr := strings.TrimPrefix(bd.srv.URL, "http://")
	msgs := b.N

	// The clients run in a child process, as browsers would run elsewhere:
	// they share the two cores but not the server's Go scheduler.
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%d|%t", fanoutEnv, addr, cookie, clients, msgs, typing))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		_ = child.Process.Kill()
		_ = child.Wait()
		b.Fatalf("client process: %q", lines.Text())
	}
	for bd.core.Stats().Connections < clients {
		time.Sleep(10 * time.Millisecond)
	}

	// Publish in batches every tick, as the relay does: rate/clients
	// messages a second, every 10ms or, when that is less than one message
	// a tick, one message at a time.
	perSec := float64(rate) / float64(clients)
	tick, perTick := 10*time.Millisecond, int(perSec/100)
	switch {
	case batchSize > 0:
		tick, perTick = time.Duration(float64(batchSize)*float64(time.Second)/perSec), batchSize
	case perTick < 1:
		tick, perTick = time.Duration(float64(time.Second)/perSec), 1
	}
	const text = " Hello, I ordered a blue jacket last week and it has not arrived yet; can you check?"
	b.ResetTimer()
	start := time.Now()
	next := start
	for seq := 1; seq <= msgs; {
		batch := make([]chat.Message, 0, perTick)
		now := time.Now()
		for ; len(batch) < perTick && seq <= msgs; seq++ {
			// The body starts with the publish time, for the client's clock.
			batch = append(batch, chat.Message{ID: int64(seq), ConversationKey: "order-" + strconv.Itoa(seq%50),
				Seq: int64(seq), SenderType: chat.SenderCustomer, Kind: chat.KindMessage,
				Body: strconv.FormatInt(now.UnixNano(), 10) + text, CreatedAt: now})
		}
		if err := bd.core.Publish(bd.ctx, batch); err != nil {
			b.Fatal(err)
		}
		next = next.Add(tick)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	// Give the clients 30s to catch up, then ask for what they have.
	stop := time.AfterFunc(30*time.Second, func() { _, _ = io.WriteString(stdin, "stop\n") })
	if !lines.Scan() {
		_ = child.Wait()
		b.Fatal("client process ended without a result")
	}
	stop.Stop()
	b.StopTimer()
	var n, p50, p99, pmax, last, typed int64
	if _, err := fmt.Sscanf(lines.Text(), "result %d %d %d %d %d %d", &n, &p50, &p99, &pmax, &last, &typed); err != nil {
		b.Fatalf("client result %q: %v", lines.Text(), err)
	}
	stdin.Close()
	if err := child.Wait(); err != nil {
		b.Fatalf("client process: %v", err)
	}
	elapsed := time.Duration(last - start.UnixNano())
	b.ReportMetric(float64(n)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(p50)/1e6, "p50-ms")
	b.ReportMetric(float64(p99)/1e6, "p99-ms")
	b.ReportMetric(float64(pmax)/1e6, "max-ms")
	if typing {
		b.ReportMetric(float64(typed)/elapsed.Seconds(), "typing-frames/s")
	}
	want := int64(msgs) * int64(clients)
	if n != want || bd.core.Stats().SlowClosed > 0 {
		b.Errorf("delivered %d of %d; %d clients dropped as too slow", n, want, bd.core.Stats().SlowClosed)
	}
}

// fanoutEnv makes the test binary the client process of BenchmarkFanout:
// SYNCD_BENCH_FANOUT=addr|cookie|clients|messages|typing.
const fanoutEnv = "SYNCD_BENCH_FANOUT"

// fanoutClients connects the clients, prints "ready", reads until every
// client has every message (or a line comes on stdin), and prints
// "result <deliveries> <p50> <p99> <max> <last delivery> <typing frames>"
// in nanoseconds. Each client watches one of the 50 conversations; with
// typing, every tenth types there, a frame every 2 s.
func fanoutClients() int {
	parts := strings.SplitN(os.Getenv(fanoutEnv), "|", 5)
	clients, _ := strconv.Atoi(parts[2])
	msgs, _ := strconv.Atoi(parts[3])
	typing := len(parts) > 4 && parts[4] == "true"
	var rl syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	rl.Cur = rl.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)

	dialer := websocket.Dialer{ReadBufferSize: 4096, WriteBufferSize: 256}
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		ws, _, err := dialer.Dial("ws://"+parts[0]+"/ws", map[string][]string{"Cookie": {parts[1]}})
		if err != nil {
			fmt.Fprintf(os.Stderr, "dial %d: %v\n", i, err)
			return 1
		}
		conns[i] = ws
		key := "order-" + strconv.Itoa(i%50)
		if err := ws.WriteJSON(map[string]string{"type": "watch", "conversation_key": key}); err != nil {
			fmt.Fprintf(os.Stderr, "watch %d: %v\n", i, err)
			return 1
		}
	}
	typers := make(chan struct{})
	var typersDone sync.WaitGroup
	if typing {
		for i := 0; i < clients; i += 10 {
			ws, key := conns[i], "order-"+strconv.Itoa(i%50)
			typersDone.Go(func() {
				t := time.NewTicker(2 * time.Second)
				defer t.Stop()
				for {
					if ws.WriteJSON(map[string]any{"type": "typing", "conversation_key": key, "typing": true}) != nil {
						return
					}
					select {
					case <-typers:
						return
					case <-t.C:
					}
				}
			})
		}
	}
	lats := make([][]time.Duration, clients)
	var last, typed atomic.Int64
	typingMarker := []byte(`"type":"typing"`)
	var wg sync.WaitGroup
	marker := []byte(`"body":"`)
	for i, ws := range conns {
		lats[i] = make([]time.Duration, 0, msgs)
		wg.Go(func() {
			buf := make([]byte, 0, 1024)
			for len(lats[i]) < msgs {
				_, r, err := ws.NextReader()
				if err != nil {
					return
				}
				data := buf[:0]
				for {
					if len(data) == cap(data) {
						data = append(data, 0)[:len(data)]
					}
					n, err := r.Read(data[len(data):cap(data)])
					data = data[:len(data)+n]
					if err != nil {
						break
					}
				}
				buf = data
				j := bytes.Index(data, marker)
				if j < 0 {
					if bytes.Contains(data, typingMarker) {
						typed.Add(1)
					}
					continue // hello, conversation, typing frames
				}
				k := j + len(marker)
				for k < len(data) && data[k] >= '0' && data[k] <= '9' {
					k++
				}
				sent, _ := strconv.ParseInt(string(data[j+len(marker):k]), 10, 64)
				now := time.Now().UnixNano()
				lats[i] = append(lats[i], time.Duration(now-sent))
				last.Store(max(last.Load(), now))
			}
		})
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	stop := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(stop)
	}()
	select {
	case <-done:
	case <-stop:
		for _, ws := range conns {
			ws.Close()
		}
		<-done
	}
	close(typers)
	typersDone.Wait()
	var all []time.Duration
	for i := range lats {
		all = append(all, lats[i]...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		all = []time.Duration{0}
	}
	pct := func(p float64) int64 { return int64(all[int(float64(len(all)-1)*p)]) }
	fmt.Printf("result %d %d %d %d %d %d\n", len(all), pct(0.5), pct(0.99), pct(1), last.Load(), typed.Load())
	<-stop // stdin closes when the benchmark is done with us
	for _, ws := range conns {
		ws.Close()
	}
	return 0
}
