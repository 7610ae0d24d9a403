package apply

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Who holds a lock, as this apply writes it into the lock request and recognises it when it
// finds the lock taken. A lock of the same user@host whose operation names a process of this
// host that no longer runs is a dead apply of ours (killed, lost power, a CI job cancelled
// hard): a retry takes it over instead of waiting for its lease, and audits that.
//
// The process is named by its pid and its start id, so that a pid the kernel has since given
// to another process is not taken for the dead apply still running. The start id is the
// process's start time in clock ticks since boot (/proc/PID/stat, field 22) on Linux; where
// that cannot be read the start id is empty and a holder is taken for dead only when its
// pid does not exist at all [?: untested off Linux; the safe side is to wait].

// holderOp is the lock request's operation for this process.
func holderOp() string {
	pid := os.Getpid()
	return fmt.Sprintf("ctlops apply (pid %d, start %s)", pid, startID(pid))
}

var holderRe = regexp.MustCompile(`^ctlops apply \(pid ([0-9]{1,10}), start ([0-9]*)\)$`)

// parseHolderOp reads back what holderOp wrote.
func parseHolderOp(op string) (pid int, start string, ok bool) {
	m := holderRe.FindStringSubmatch(op)
	if m == nil {
		return 0, "", false
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	return pid, m[2], true
}

// startID is the start time of process pid in clock ticks since boot, "" when unknown.
func startID(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// processGone reports whether process pid with start id start no longer runs on this host.
func processGone(pid int, start string) bool {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		return false // no /proc: cannot tell; the safe side is that it runs
	}
	now := startID(pid)
	if now == "" {
		return true // no such process
	}
	return start != "" && now != start // the pid was given to another process
}
