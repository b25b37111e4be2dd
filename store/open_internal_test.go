package store

import (
	"maps"
	"testing"
	"time"
)

// The hold limit becomes these session variables: MariaDB rolls back an
// idle transaction, MySQL (no such variable) closes an idle connection,
// and the pool then drops idle connections before the server does.
func TestHoldLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hold     time.Duration
		srv      server
		given    map[string]string
		want     map[string]string
		wantIdle time.Duration
	}{
		{name: "off", srv: server{idleTx: true}, want: map[string]string{}},
		{name: "MariaDB", hold: 8 * time.Second, srv: server{idleTx: true}, want: map[string]string{
			"innodb_lock_wait_timeout": "8", "net_read_timeout": "8", "net_write_timeout": "8", "idle_transaction_timeout": "8",
		}},
		{name: "MySQL", hold: 1500 * time.Millisecond, want: map[string]string{
			"innodb_lock_wait_timeout": "2", "net_read_timeout": "2", "net_write_timeout": "2", "wait_timeout": "2",
		}, wantIdle: 750 * time.Millisecond},
		{name: "the DSN wins", hold: 8 * time.Second, srv: server{idleTx: true}, given: map[string]string{"innodb_lock_wait_timeout": "20"},
			want: map[string]string{
				"innodb_lock_wait_timeout": "20", "net_read_timeout": "8", "net_write_timeout": "8", "idle_transaction_timeout": "8",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := maps.Clone(tc.given)
			if params == nil {
				params = map[string]string{}
			}
			idle := openOptions{hold: tc.hold}.holdLimits(params, tc.srv)
			if !maps.Equal(params, tc.want) || idle != tc.wantIdle {
				t.Errorf("params %v, idle %s; want %v, %s", params, idle, tc.want, tc.wantIdle)
			}
		})
	}
}
