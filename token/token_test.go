package token

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"testing"

	"github.com/ctlops/ctlops/token/softhsm"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// The tokens every test of this package shares, created by TestMain in a private SoftHSM2
// world. PINs are distinctive so that a leak cannot hide among hex digits.
var (
	hsm      *softhsm.Env
	modPath  string
	tokSAST1 *softhsm.Token // key, no public-key object (like an eToken)
	tokSAST2 *softhsm.Token // key with its public-key object, plus a certificate without key
	tokNoKey *softhsm.Token // a certificate and no key
	tokPIN   *softhsm.Token // only for wrong-PIN tests, which change its retry flags
	tokRetry *softhsm.Token // only for the PIN retry test on a terminal
)

const helperEnv = "CTLOPS_TOKEN_TEST_HELPER"

func TestMain(m *testing.M) {
	flag.Parse()
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	dir, err := os.MkdirTemp("", "ctlops-token-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := setup(filepath.Join(dir, "hsm")); err != nil {
			fmt.Fprintln(os.Stderr, "token tests: creating SoftHSM2 tokens:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

func setup(dir string) error {
	var err error
	if hsm, err = softhsm.NewEnv(dir); err != nil {
		return err
	}
	modPath = hsm.Module
	// Only this process (and the helpers it starts) sees the private token directory.
	os.Setenv("SOFTHSM2_CONF", hsm.Conf)
	ctx := context.Background()
	mk := func(spec softhsm.TokenSpec) *softhsm.Token {
		if err != nil {
			return nil
		}
		var t *softhsm.Token
		t, err = hsm.CreateToken(ctx, spec)
		return t
	}
	tokSAST1 = mk(softhsm.TokenSpec{Label: "sast1", PIN: "Qz7-sast1-PIN", Subject: pkix.Name{CommonName: "SAST-ADN0001", OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Cisco Systems"}}})
	tokSAST2 = mk(softhsm.TokenSpec{Label: "sast2", PIN: "Wk4-sast2-PIN", KeepPublicKey: true, ExtraCertWithoutKey: true})
	tokNoKey = mk(softhsm.TokenSpec{Label: "nokey", PIN: "Hn2-nokey-PIN", NoKey: true})
	tokPIN = mk(softhsm.TokenSpec{Label: "pintest", PIN: "Rb8-pintest-PIN"})
	tokRetry = mk(softhsm.TokenSpec{Label: "retry", PIN: "Jd5-retry-PIN"})
	return err
}

// helperMain runs in a fresh process: login state is per process, so a wrong PIN must be tried
// where no earlier login to the token exists.
func helperMain(mode string) int {
	label := os.Getenv("HELPER_LABEL")
	o := Options{
		Module:    os.Getenv("HELPER_MODULE"),
		Selection: Selection{Label: label},
		PIN:       PINFromEnv(PINEnv),
		Warn:      os.Stderr,
	}
	if mode == "tty" { // as the CLI does on a terminal: ask which token, then the PIN
		var err error
		if o.PIN, err = DefaultPIN("", os.Stdin, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
		if _, tty := TerminalFD(os.Stdin); tty {
			o.Ask = AskToken(os.Stdin, os.Stderr)
		}
	}
	ctx := context.Background()
	if mode == "retry" { // a PIN typed on the terminal, asked again when wrong; Ctrl-C stops
		var stop func()
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		fd, _ := TerminalFD(os.Stdin)
		o.PIN, o.Retry = PINFromTerminalContext(ctx, fd, os.Stderr), true
	}
	s, err := Open(ctx, o)
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "stopped at the prompt")
		return 4
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		var le *LoginError
		if errors.As(err, &le) && errors.Is(err, ErrWrongPIN) {
			return 3
		}
		return 1
	}
	defer s.Close()
	fmt.Println("opened:", s.Describe())
	return 0
}

func runHelper(t *testing.T, label, pin string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(hsm.Environ(nil), helperEnv+"=open", "HELPER_LABEL="+label, "HELPER_MODULE="+modPath, PINEnv+"="+pin)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func byLabel(t *testing.T, infos []Info, label string) Info {
	t.Helper()
	for _, i := range infos {
		if i.Label == label {
			return i
		}
	}
	t.Fatalf("token %q not listed: %+v", label, infos)
	return Info{}
}
