package lab

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProviderBinary is the reference provider's program name.
const ProviderBinary = "ctl-provider"

// FindProvider returns the ctl-provider to run: the one given, else the one next to the running
// executable (`make build` puts both in bin/), else the one on PATH.
func FindProvider(given string) (string, error) {
	if given != "" {
		p, err := exec.LookPath(given)
		if err != nil {
			return "", fmt.Errorf("ctl-provider %s: %w", given, err)
		}
		return filepath.Abs(p)
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), ProviderBinary)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(ProviderBinary); err == nil {
		return filepath.Abs(p)
	}
	return "", errors.New("the reference CTL Provider `ctl-provider` was found neither next to ctlops nor on PATH: " +
		"build both with `make build` (they land in bin/), or `go build -o bin/ ./cmd/...`")
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// NodesDieWithCaller makes node processes receive SIGKILL when the process that started them
// dies. For in-process tests: a test binary that panics or is killed runs no cleanup, and its
// nodes would otherwise outlive it. `ctlops lab up` leaves it off: its nodes must outlive it.
var NodesDieWithCaller bool

// start runs `ctl-provider serve --config cfg` in a session of its own, so that it outlives
// this process and a signal to its group reaches nothing else, and waits until it serves.
func start(bin, cfg, logPath string) (int, error) {
	return startArgs(bin, []string{"serve", "--config", cfg}, cfg, logPath)
}

// startArgs is start with the command's arguments given; they must hold --config cfg.
func startArgs(bin string, args []string, cfg, logPath string) (int, error) {
	return startProc(bin, args, cfg, logPath, " serving https://")
}

// startProc runs bin args in a session of its own, so that it outlives this process and a
// signal to its group reaches nothing else, with the scrubbed environment (nodeEnv) and its
// output appended to logPath, and waits until the log shows ready. Every process the lab owns
// (nodes, simulators, phone sides) is started here.
func startProc(bin string, args []string, cfg, logPath, ready string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	off, _ := logf.Seek(0, 2)
	cmd := exec.Command(bin, args...)
	cmd.Env = nodeEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sessionAttr()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", bin, err)
	}
	pid := cmd.Process.Pid
	// Reap the child if it exits while this process lives (tests, a long `lab event`): a zombie
	// would look alive to kill(pid, 0).
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := readFrom(logPath, off)
		if bytes.Contains(out, []byte(ready)) {
			return pid, nil
		}
		// Not alive(): until the child has exec'd, its command line is still this process's.
		select {
		case err := <-exited:
			return 0, fmt.Errorf("the process of %s exited at start (%v): %s (log %s)", cfg, err, lastLine(out), logPath)
		default:
		}
		if time.Now().After(deadline) {
			stop(pid, cfg)
			return 0, fmt.Errorf("the process of %s was not ready within 30 s (log %s)", cfg, logPath)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nodeEnvKeep are the variables a node keeps from the environment of whoever starts it. A
// node reads everything else from its config file, so it needs nothing of the operator's
// environment, which after `. lab.env` (or in CI) holds the lab's and real clusters' provider
// passwords and the token PIN: a node process is another place they could leak from (its
// /proc/PID/environ, a crash dump, a child of its own). Locale, time zone, temporary directory
// and the Go runtime's knobs stay, so that a node behaves like the ctlops that started it.
var nodeEnvKeep = map[string]bool{
	"PATH": true, "TMPDIR": true, "TZ": true, "LANG": true, "LC_ALL": true,
	"GODEBUG": true, "GOTRACEBACK": true, "GOMAXPROCS": true, "GOMEMLIMIT": true,
}

// nodeEnv returns the part of environ a node process gets.
func nodeEnv(environ []string) []string {
	out := []string{}
	for _, kv := range environ {
		if k, _, ok := strings.Cut(kv, "="); ok && nodeEnvKeep[k] {
			out = append(out, kv)
		}
	}
	return out
}

func readFrom(path string, off int64) []byte {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < off {
		return nil
	}
	return b[off:]
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "no output"
	}
	return s
}

// alive reports whether pid is a live (not zombie) process serving cfg: the config path on its
// command line guards against a recycled pid, so nothing else is ever signalled.
func alive(pid int, cfg string) bool {
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	found := false
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--config" && args[i+1] == cfg {
			found = true
		}
	}
	return found && !exited(pid)
}

// stop ends a node process and its group: SIGTERM, then SIGKILL after 5 s. It returns once the
// process is gone, or an error if even SIGKILL did not end it.
func stop(pid int, cfg string) error {
	if !alive(pid, cfg) {
		return nil
	}
	// The node is its own session and group leader (Setsid), so -pid is its group only.
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	if waitGone(pid, 5*time.Second) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if waitGone(pid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("process %d (%s) did not exit after SIGKILL", pid, cfg)
}

// waitGone waits until the process pid, known to be a node of the lab when it was signalled, has
// exited. Not alive(): while a process exits, the kernel empties its /proc/PID/cmdline before
// the process is a zombie, so the command line stops naming cfg while the process still runs
// its exit (and may still hold its ports). Only the process state says it is over.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !exited(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// exited reports whether pid has ended: no such process, or a zombie (or dead) one.
func exited(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses, which may itself hold spaces.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		st := stat[i+2]
		return st == 'Z' || st == 'X'
	}
	return false
}
