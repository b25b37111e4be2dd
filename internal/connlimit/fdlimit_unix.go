//go:build unix

package connlimit

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises the soft limit on open files to the hard limit, as
// far as the OS allows, and returns the soft limit in force. The Go
// runtime already does this at start on most systems; doing it again is
// cheap and makes the number the caps are sized by explicit.
func RaiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("read the open-files limit: %w", err)
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			rl = want
		}
		// Refused (macOS caps it below an "unlimited" hard limit): the
		// soft limit stays, and the caps are sized by it.
	}
	return uint64(rl.Cur), nil
}
