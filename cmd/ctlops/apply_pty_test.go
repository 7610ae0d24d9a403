package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctlops/ctlops/internal/ptytest"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// onTerminal runs ctlops in a fresh process on a real pseudo-terminal, answers each prompt in
// turn, and returns the exit status and the screen.
func onTerminal(t *testing.T, w *tokenWorld, env []string, dialogue [][2]string, args ...string) (int, string) {
	t.Helper()
	m, s := ptytest.Open(t)
	defer m.Close()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestTokenCLIHelperProcess$", "--"}, args...)...)
	cmd.Env = append(append(w.env.Environ(nil), tokenCLIHelper+"=1", "CTLOPS_TOKEN_PIN=", "NO_COLOR=1"), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	text := func() string { mu.Lock(); defer mu.Unlock(); return screen.String() }
	for _, d := range dialogue {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(text(), d[0]) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("%q never appeared; screen:\n%s", d[0], text())
			}
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Fprint(m, d[1])
	}
	_ = cmd.Wait()
	// The reader ends when the last holder of the terminal is gone: then the screen is whole.
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the terminal stayed open after the process ended; screen:\n%s", text())
	}
	return cmd.ProcessState.ExitCode(), text()
}

// TestApplyTerminal: on a terminal apply asks; anything but "yes" declines with exit 3 and
// changes nothing; "yes" then the PIN (not echoed) applies.
func TestApplyTerminal(t *testing.T) {
	w := newTokenWorld(t)
	pc := providertest.StartNamed(t, "hq", 1)
	dir := t.TempDir()
	for name, pem := range map[string][]byte{"alice": w.a.CertPEM, "bob": w.b.CertPEM} {
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	host, port, _ := strings.Cut(pc.Addrs()[0], ":")
	spec := filepath.Join(dir, "ctlops.yaml")
	yaml := fmt.Sprintf("version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers: [{host: %s, port: %s}]\n"+
		"    credentials: {username: %s, password: {env: HQ_PASSWORD}}\n    tls: {ca: %s}\n"+
		"    tokens: [{name: alice, certificate: alice.pem}, {name: bob, certificate: bob.pem}]\n"+
		"    signWith: {pkcs11: {module: %s, label: %s}}\n", host, port, pc.User, pc.CAFile, w.env.Module, w.a.Label)
	if err := os.WriteFile(spec, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"HQ_PASSWORD=" + providertest.Password}

	code, screen := onTerminal(t, w, env, [][2]string{{`Type "yes" to apply: `, "no\n"}}, "apply", "-f", spec)
	if code != 3 || !strings.Contains(screen, "Apply cancelled.") {
		t.Fatalf("declined: exit %d\n%s", code, screen)
	}
	if _, err := provider.ReadCTLFile(pc.Nodes()[0].FileLocation()); err == nil {
		t.Fatal("a declined apply wrote the CTL")
	}

	code, screen = onTerminal(t, w, env, [][2]string{
		{`Type "yes" to apply: `, "yes\n"},
		{`PIN for security token "` + w.a.Label + `"`, w.a.PIN + "\n"},
	}, "apply", "-f", spec)
	if code != 0 || !strings.Contains(screen, "Apply complete.") {
		t.Fatalf("confirmed: exit %d\n%s", code, screen)
	}
	for _, s := range []string{w.a.PIN, providertest.Password} {
		if strings.Contains(screen, s) {
			t.Error("a secret appears on the terminal")
		}
	}
}
