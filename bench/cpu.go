package bench

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	schema "github.com/syncd-dev/syncd/sql"
)

// serverCPU is the CPU time (user and system) the database server's
// processes have used so far, read from /proc when the server runs on this
// machine (a loopback or socket address), or -1. It is the cost that
// bounds the relay on a small machine, which no server counter gives.
// PostgreSQL's backends are processes of their own: one that exits takes
// its CPU time with it, so the reading is taken while the run's
// connections are still open.
func serverCPU(dsn string) time.Duration {
	if !localServer(dsn) {
		return -1
	}
	names := map[string]bool{"mariadbd": true, "mysqld": true}
	if dialectOf(dsn) == schema.Postgres {
		names = map[string]bool{"postgres": true}
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	found := false
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ... utime stime: comm may hold spaces.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || !names[string(b[open+1:end])] {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
		found = true
	}
	if !found {
		return -1
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ is 100 on Linux
}

func localServer(dsn string) bool {
	var host string
	if dialectOf(dsn) == schema.Postgres {
		u, err := url.Parse(dsn)
		if err != nil {
			return false
		}
		host = u.Hostname()
	} else {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return false
		}
		if cfg.Net == "unix" {
			return true
		}
		host, _, _ = net.SplitHostPort(cfg.Addr)
	}
	if host == "" || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
