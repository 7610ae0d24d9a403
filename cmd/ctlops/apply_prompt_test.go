package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/ctlops/ctlops/internal/ptytest"
	"github.com/ctlops/ctlops/provider"
)

// TestApplyPromptsInterruptible: Ctrl-C at the "yes" prompt and at the PIN prompt (every
// update lock held) stops the apply with 130, releases every lock and writes nothing; a
// wrong PIN is asked again, saying what the token reports, and the right one then applies.
func TestApplyPromptsInterruptible(t *testing.T) {
	w := newTokenWorld(t)
	pc, spec, env := terminalLab(t, w)
	var cmd *exec.Cmd
	start := func() *ptytest.Term {
		cmd = exec.Command(os.Args[0], "-test.run=^TestTokenCLIHelperProcess$", "--", "apply", "-f", spec)
		cmd.Env = append(append(w.env.Environ(nil), tokenCLIHelper+"=1", "CTLOPS_TOKEN_PIN=", "NO_COLOR=1"), env...)
		return ptytest.Start(t, cmd)
	}
	nothingLeft := func(when string) {
		t.Helper()
		if _, err := pc.Client(pc.Nodes()[0].Name).GetLock(context.Background()); !errors.Is(err, provider.ErrNotLocked) {
			t.Errorf("%s: the update lock is still held: %v", when, err)
		}
		if _, err := provider.ReadCTLFile(pc.Nodes()[0].FileLocation()); err == nil {
			t.Errorf("%s: the CTL was written", when)
		}
	}

	term := start()
	term.WaitFor(`Type "yes" to apply: `)
	term.Send("\x03")
	term.WaitFor("stopped at the question; nothing was locked or written") // bounded: a prompt deaf to Ctrl-C fails here
	if code, screen := term.Wait(); code != 130 {
		t.Fatalf("Ctrl-C at the yes prompt: exit %d\n%s", code, screen)
	}
	nothingLeft("Ctrl-C at the yes prompt")

	pinPrompt := `PIN for security token "` + w.a.Label + `"`
	term = start()
	term.WaitFor(`Type "yes" to apply: `)
	term.Send("yes\n")
	term.WaitFor(pinPrompt)
	if _, err := pc.Client(pc.Nodes()[0].Name).GetLock(context.Background()); err != nil {
		t.Fatalf("no lock held at the PIN prompt: the test would prove nothing (%v)", err)
	}
	term.Send("\x03")
	term.WaitFor("stopped before signing; nothing was written and every update lock is released")
	if code, screen := term.Wait(); code != 130 {
		t.Fatalf("Ctrl-C at the PIN prompt: exit %d\n%s", code, screen)
	}
	nothingLeft("Ctrl-C at the PIN prompt")

	// SIGTERM (a cancelled CI job) at the PIN prompt does the same, with 143.
	term = start()
	term.WaitFor(`Type "yes" to apply: `)
	term.Send("yes\n")
	term.WaitFor(pinPrompt)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	term.WaitFor("stopped before signing")
	if code, screen := term.Wait(); code != 143 {
		t.Fatalf("SIGTERM at the PIN prompt: exit %d\n%s", code, screen)
	}
	nothingLeft("SIGTERM at the PIN prompt")

	term = start()
	term.WaitFor(`Type "yes" to apply: `)
	term.Send("yes\n")
	term.WaitFor(pinPrompt)
	term.Send("Zz1-wrong-PIN\n")
	got := term.WaitFor("(Ctrl-C stops)")
	if !strings.Contains(got, "wrong PIN; ") {
		t.Errorf("the wrong PIN is not named:\n%s", got)
	}
	if n := strings.Count(term.WaitFor("(Ctrl-C stops)\r\n"+pinPrompt), pinPrompt); n != 2 {
		t.Fatalf("asked %d times, want 2", n)
	}
	term.Send(w.a.PIN + "\n")
	code, screen := term.Wait()
	if code != 0 || !strings.Contains(screen, "Apply complete.") {
		t.Fatalf("after a wrong PIN, then the right one: exit %d\n%s", code, screen)
	}
	for _, s := range w.leaks {
		if strings.Contains(screen, s) {
			t.Errorf("a secret (%d characters) appears on the terminal", len(s))
		}
	}
}
