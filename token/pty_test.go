package token

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/internal/ptytest"
)

// TestTerminal runs Open as the CLI does on a terminal, in a fresh process on a real
// pseudo-terminal: with several tokens and none named it lists them and asks (R20), then asks
// for the PIN without echo (R21).
func TestTerminal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(hsm.Environ(nil), helperEnv+"=tty", "HELPER_MODULE="+modPath, PINEnv+"=")
	term := ptytest.Start(t, cmd)
	got := term.WaitFor("Token to use [1-")
	num := regexp.MustCompile(`(\d+)\) "sast1"`).FindStringSubmatch(got)
	if num == nil || !strings.Contains(got, `"sast2" (serial `+tokSAST2.Serial) {
		t.Fatalf("tokens not listed:\n%s", got)
	}
	term.Send(num[1] + "\n")
	term.WaitFor(`PIN for security token "sast1" (serial ` + tokSAST1.Serial + `): `)
	term.Send(tokSAST1.PIN + "\n")
	got = term.WaitFor("opened: PKCS#11 token \"sast1\"")
	if code, screen := term.Wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, screen)
	}
	if strings.Contains(got, tokSAST1.PIN) {
		t.Fatalf("the PIN was echoed:\n%s", got)
	}
}

// TestPINRetryOnTerminal: a wrong PIN typed on the terminal is asked for again, saying what
// the token reports of its tries; the right one then opens the token. Ctrl-C at the PIN
// prompt stops at once (the caller's context ends) with the echo restored.
func TestPINRetryOnTerminal(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(hsm.Environ(nil), helperEnv+"=retry", "HELPER_LABEL=retry", "HELPER_MODULE="+modPath, PINEnv+"=")
	term := ptytest.Start(t, cmd)
	prompt := `PIN for security token "retry" (serial ` + tokRetry.Serial + `): `
	term.WaitFor(prompt)
	term.Send("Xx9-wrong\n")
	got := term.WaitFor("(Ctrl-C stops)")
	if !strings.Contains(got, `token "retry" (serial `+tokRetry.Serial+`): wrong PIN; `) || !strings.Contains(got, "few do: try again") {
		t.Errorf("the retry does not say the PIN was wrong and what the token reports:\n%s", got)
	}
	term.WaitFor(prompt + "\r\n" + "token") // the first prompt, then the notice...
	if strings.Count(term.WaitFor("(Ctrl-C stops)\r\n"+prompt), prompt) != 2 {
		t.Fatalf("not asked again:\n%s", term.Screen())
	}
	term.Send(tokRetry.PIN + "\n")
	term.WaitFor(`opened: PKCS#11 token "retry"`)
	if code, screen := term.Wait(); code != 0 || strings.Contains(screen, tokRetry.PIN) || strings.Contains(screen, "Xx9-wrong") {
		t.Fatalf("exit %d (or a PIN was echoed)\n%s", code, screen)
	}

	// Ctrl-C at the prompt.
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(hsm.Environ(nil), helperEnv+"=retry", "HELPER_LABEL=retry", "HELPER_MODULE="+modPath, PINEnv+"=")
	term = ptytest.Start(t, cmd)
	term.WaitFor(prompt)
	term.Send("\x03")
	term.WaitFor("stopped at the prompt")
	if code, screen := term.Wait(); code != 4 {
		t.Fatalf("Ctrl-C at the PIN prompt: exit %d\n%s", code, screen)
	}
}
