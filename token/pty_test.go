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
