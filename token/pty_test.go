package token

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctlops/ctlops/internal/ptytest"
)

// TestTerminal runs Open as the CLI does on a terminal, in a fresh process on a real
// pseudo-terminal: with several tokens and none named it lists them and asks (R20), then asks
// for the PIN without echo (R21).
func TestTerminal(t *testing.T) {
	m, s := ptytest.Open(t)
	defer m.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(hsm.Environ(nil), helperEnv+"=tty", "HELPER_MODULE="+modPath, PINEnv+"=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var mu sync.Mutex
	var screen bytes.Buffer
	go func() {
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
	// waitFor polls the screen until want shows, with a deadline.
	waitFor := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			got := screen.String()
			mu.Unlock()
			if strings.Contains(got, want) {
				return got
			}
			time.Sleep(10 * time.Millisecond)
		}
		cmd.Process.Kill()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%q never appeared; screen:\n%s", want, screen.String())
		return ""
	}
	got := waitFor("Token to use [1-")
	num := regexp.MustCompile(`(\d+)\) "sast1"`).FindStringSubmatch(got)
	if num == nil || !strings.Contains(got, `"sast2" (serial `+tokSAST2.Serial) {
		t.Fatalf("tokens not listed:\n%s", got)
	}
	fmt.Fprintf(m, "%s\n", num[1])
	waitFor(`PIN for security token "sast1" (serial ` + tokSAST1.Serial + `): `)
	fmt.Fprintf(m, "%s\n", tokSAST1.PIN)
	got = waitFor("opened: PKCS#11 token \"sast1\"")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if strings.Contains(got, tokSAST1.PIN) {
		t.Fatalf("the PIN was echoed:\n%s", got)
	}
}
