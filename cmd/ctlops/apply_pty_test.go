package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/internal/ptytest"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// onTerminal runs ctlops in a fresh process on a real pseudo-terminal, answers each prompt in
// turn, and returns the exit status and the screen.
func onTerminal(t *testing.T, w *tokenWorld, env []string, dialogue [][2]string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestTokenCLIHelperProcess$", "--"}, args...)...)
	cmd.Env = append(append(w.env.Environ(nil), tokenCLIHelper+"=1", "CTLOPS_TOKEN_PIN=", "NO_COLOR=1"), env...)
	term := ptytest.Start(t, cmd)
	for _, d := range dialogue {
		term.WaitFor(d[0])
		term.Send(d[1])
	}
	return term.Wait()
}

// TestApplyTerminal: on a terminal apply asks; anything but "yes" declines with exit 3 and
// changes nothing; "yes" then the PIN (not echoed) applies.
func TestApplyTerminal(t *testing.T) {
	w := newTokenWorld(t)
	pc, spec, env := terminalLab(t, w)

	code, screen := onTerminal(t, w, env, [][2]string{{`Type "yes" to apply: `, "no\n"}}, "apply", "-f", spec)
	if code != 3 || !strings.Contains(screen, "Apply cancelled.") {
		t.Fatalf("declined: exit %d\n%s", code, screen)
	}
	// On a terminal the servers being read show as one status line, erased once all are read
	// (a pipe gets one line per read instead: TestProgressFor).
	last := strings.LastIndex(screen, "reading ")
	if !strings.Contains(screen, "\r\x1b[Kreading 0/") || last < 0 ||
		!strings.Contains(screen[last:], "\r\x1b[KCluster hq") {
		t.Errorf("no status line on the terminal, or not erased before the plan:\n%q", screen)
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
			t.Errorf("a secret appears on the terminal:\n%s", screen)
		}
	}
}

// terminalLab is a one-node cluster and a spec that signs with w's token alice on a
// terminal (no PIN source: it is asked).
func terminalLab(t *testing.T, w *tokenWorld) (*providertest.Cluster, string, []string) {
	t.Helper()
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
	return pc, spec, []string{"HQ_PASSWORD=" + providertest.Password}
}
