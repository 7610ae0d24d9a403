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
// machine that no longer runs is a dead apply of ours (killed, lost power, a CI job cancelled
// hard): a retry takes it over instead of waiting for its lease, and audits that.
//
// The process is named by its pid and a start id: the kernel's boot id, the pid namespace and
// the process's start time in clock ticks since boot (/proc/PID/stat, field 22), so that
//   - a pid the kernel has since given to another process is not taken for the dead apply;
//   - a holder from another boot, or another pid namespace (two containers that share a
//     user and a host name), is never judged from here: its pid means nothing in ours.
// Where /proc cannot be read (off Linux) the start id is empty and no lock is ever taken
// over [?: the safe side is to wait for the lease or `ctlops unlock`].

// holderOp is the lock request's operation for this process.
func holderOp() string {
	pid := os.Getpid()
	return fmt.Sprintf("ctlops apply (pid %d, start %s)", pid, startID(pid))
}

var holderRe = regexp.MustCompile(`^ctlops apply \(pid ([0-9]{1,10}), start ([0-9a-f]{1,32}\.[0-9]{1,20}\.[0-9]{1,20})?\)$`)

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

// machineID is this process's boot id (first 16 hex digits) and pid namespace, "" when
// unknown: a pid is only meaningful within both.
func machineID() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	b := strings.ReplaceAll(strings.TrimSpace(string(boot)), "-", "")
	if len(b) > 16 {
		b = b[:16]
	}
	ns, err := os.Readlink("/proc/self/ns/pid") // "pid:[4026531836]"
	if err != nil {
		return ""
	}
	ns = strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
	if _, err := strconv.ParseUint(ns, 10, 64); err != nil || b == "" {
		return ""
	}
	return b + "." + ns
}

// startTicks is the start time of process pid in clock ticks since boot, "" when no such
// process is visible.
func startTicks(pid int) string {
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

// startID is process pid's start id as seen from this process, "" when unknown.
func startID(pid int) string {
	m, t := machineID(), startTicks(pid)
	if m == "" || t == "" {
		return ""
	}
	return m + "." + t
}

// processGone reports whether the process a holder names surely no longer runs: same boot
// and pid namespace as this process, and the pid is absent or started at another time.
func processGone(pid int, start string) bool {
	m := machineID()
	if start == "" || m == "" || !strings.HasPrefix(start, m+".") {
		return false // another machine, boot or namespace, or unknown: cannot tell
	}
	now := startTicks(pid)
	return now == "" || now != strings.TrimPrefix(start, m+".")
}
