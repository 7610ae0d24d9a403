// Package ptytest runs processes on real pseudo-terminals for tests of what ctlops does on a
// terminal: questions (R20), PIN prompts without echo (R21), the "yes" confirmation of apply.
package ptytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// open returns the master and slave ends of a new pseudo-terminal.
func open(t testing.TB) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// Term is a process running on a pseudo-terminal, and everything it has printed there.
type Term struct {
	t      testing.TB
	m      *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{}
}

// Start runs cmd in a new session whose controlling terminal (stdin, stdout, stderr) is a new
// pseudo-terminal, and keeps reading what it prints.
func Start(t testing.TB, cmd *exec.Cmd) *Term {
	t.Helper()
	m, s := open(t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		s.Close()
		t.Fatal(err)
	}
	s.Close() // the child holds it now
	tm := &Term{t: t, m: m, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.screen.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return tm
}

// Screen is everything printed so far.
func (tm *Term) Screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.screen.String()
}

// WaitFor polls the screen until want shows, and returns it; after 20 s it kills the process
// and fails the test.
func (tm *Term) WaitFor(want string) string {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := tm.Screen()
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			tm.cmd.Process.Kill()
			tm.t.Fatalf("%q never appeared; screen:\n%s", want, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Send types s on the terminal.
func (tm *Term) Send(s string) {
	tm.t.Helper()
	if _, err := tm.m.WriteString(s); err != nil {
		tm.t.Fatal(err)
	}
}

// Wait waits for the process to end and the terminal to close (then the screen is whole), and
// returns the exit status and the screen.
func (tm *Term) Wait() (int, string) {
	tm.t.Helper()
	_ = tm.cmd.Wait()
	select {
	case <-tm.done:
	case <-time.After(10 * time.Second):
		tm.t.Fatalf("the terminal stayed open after the process ended; screen:\n%s", tm.Screen())
	}
	return tm.cmd.ProcessState.ExitCode(), tm.Screen()
}
