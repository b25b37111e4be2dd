package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestConsoleTwoInstancesFailover: two instances share MariaDB and Redis.
// The console, connected to instance A through a proxy, shows rows that
// instance B relays. Then A is killed; the page reconnects (through the
// proxy, to B), and shows every message exactly once, including rows
// inserted while it was disconnected.
func TestConsoleTwoInstancesFailover(t *testing.T) {
	t.Parallel()
	proxy := newFailoverProxy(t)
	d := newDeployment(t, 15, proxy.URL())
	suffix := randHex(3)
	a := d.start("e2e-a-" + suffix)
	bInst := d.start("e2e-b-" + suffix)
	proxy.start(a.URL(), bInst.URL())

	b := newBrowser(t)
	b.login(proxy.URL())
	if proxy.current() != a.addr {
		t.Fatalf("proxy sends to %s, want instance A at %s", proxy.current(), a.addr)
	}

	// A second conversation, to check the list after the reconnect.
	other := "other-" + suffix
	otherFirst := "first message of " + other
	d.insert(other, otherFirst)
	b.waitJS(30*time.Second, "conversation "+other+" in the list", fmt.Sprintf(`!!document.querySelector('#conv-list .conv[data-key=%s]')`, jsString(other)))

	// Both instances relay; keep inserting into new conversations until
	// instance B has relayed one, and check that the console on A shows it.
	var keyB string
	var keys []string
	bodies := map[string][]string{}
	for i := 0; keyB == "" && i < 40; i++ {
		key := fmt.Sprintf("conv-%s-%02d", suffix, i)
		body := fmt.Sprintf("first message of %s", key)
		id := d.insert(key, body)
		keys = append(keys, key)
		bodies[key] = append(bodies[key], body)
		var claimedBy string
		eventually(t, 30*time.Second, "row "+key+" relayed", func() (bool, error) {
			err := d.db.QueryRow(`SELECT COALESCE(claimed_by, '') FROM message_sync WHERE id = ? AND status = 'sent'`, id).Scan(&claimedBy)
			return err == nil, err
		})
		if claimedBy == bInst.name {
			keyB = key
		}
	}
	if keyB == "" {
		t.Fatal("instance B relayed none of 40 rows")
	}
	b.openConversation(keyB)
	b.waitJS(30*time.Second, "the row relayed by B, on A's console", hasMessageJS(bodies[keyB][0]))
	for _, k := range keys {
		b.waitJS(30*time.Second, "conversation "+k+" in the list", fmt.Sprintf(`!!document.querySelector('#conv-list .conv[data-key=%s]')`, jsString(k)))
	}

	// Add a few messages live so the open conversation has some history.
	for i := 1; i <= 3; i++ {
		body := fmt.Sprintf("live %d of %s", i, keyB)
		d.insert(keyB, body)
		bodies[keyB] = append(bodies[keyB], body)
	}
	b.waitJS(30*time.Second, "the live messages", hasMessageJS(bodies[keyB][3]))

	// Kill A while the proxy holds the page off, so that the page stays
	// disconnected while rows arrive.
	proxy.hold()
	a.kill()
	b.waitJS(20*time.Second, "the reconnecting banner",
		`!document.getElementById('banner').hidden && document.getElementById('banner').textContent.includes('Reconnecting')`)
	var ids []int64
	for i := 1; i <= 4; i++ {
		body := fmt.Sprintf("while disconnected %d of %s", i, keyB)
		ids = append(ids, d.insert(keyB, body))
		bodies[keyB] = append(bodies[keyB], body)
	}
	otherBody := "while disconnected, in " + other
	ids = append(ids, d.insert(other, otherBody))
	eventually(t, 45*time.Second, "instance B to relay the rows inserted meanwhile", func() (bool, error) {
		var pending int
		err := d.db.QueryRow(`SELECT COUNT(*) FROM message_sync WHERE id >= ? AND status <> 'sent'`, ids[0]).Scan(&pending)
		return err == nil && pending == 0, err
	})
	if got := eval[int](b, `document.querySelectorAll('#messages [data-seq]').length`); got != 4 {
		t.Fatalf("while disconnected the page shows %d messages, want the 4 it had", got)
	}

	// Let the page reconnect: the proxy finds A dead and moves to B.
	proxy.release()
	b.waitJS(45*time.Second, "the reconnect", `document.getElementById('banner').hidden && document.getElementById('conn').dataset.state === 'live'`)
	if proxy.current() != bInst.addr {
		t.Fatalf("proxy sends to %s after A died, want B at %s", proxy.current(), bInst.addr)
	}
	b.waitJS(30*time.Second, "the messages from while it was disconnected", hasMessageJS(bodies[keyB][len(bodies[keyB])-1]))

	// One more row, relayed by B and pushed live.
	last := "after the reconnect, to " + keyB
	d.insert(keyB, last)
	bodies[keyB] = append(bodies[keyB], last)
	b.waitJS(30*time.Second, "a live message after the reconnect", hasMessageJS(last))

	// Every message exactly once, in seq order.
	want := bodies[keyB]
	got := eval[[]string](b, `[...document.querySelectorAll('#messages [data-seq]')].map(e => e.dataset.seq + ':' + e.querySelector('.body').textContent)`)
	var expect []string
	for i, body := range want {
		expect = append(expect, fmt.Sprintf("%d:%s", i+1, body))
	}
	if strings.Join(got, "\n") != strings.Join(expect, "\n") {
		t.Errorf("messages shown:\n%s\nwant each once, in order:\n%s", strings.Join(got, "\n"), strings.Join(expect, "\n"))
	}
	for seq := 1; seq <= len(want); seq++ {
		if n := eval[int](b, fmt.Sprintf(`document.querySelectorAll('#messages [data-seq="%d"]').length`, seq)); n != 1 {
			t.Errorf("seq %d shown %d times, want once", seq, n)
		}
	}

	// The list was reloaded: the other conversation shows what came meanwhile.
	b.waitJS(10*time.Second, "the list entry of "+other, fmt.Sprintf(
		`(document.querySelector('#conv-list .conv[data-key=%s] .conv-last')?.textContent || '').endsWith(%s)`, jsString(other), jsString(otherBody)))
	b.checkPage()
}
