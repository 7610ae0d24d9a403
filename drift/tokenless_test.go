package drift_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/spec"
)

// TestTokenlessDrift: a mixed tokenless cluster is in sync; after a certificate
// regeneration on msub, drift exits 2 naming msub and the publisher command, and reports the
// stale ITL of msub as a warning. Nothing the check does changes the cluster (no utils ctl
// or utils service command is typed).
func TestTokenlessDrift(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := cucmsim.Start(cucmsim.Config{Release: "12.5.1.11900-146", Mixed: true, User: "platformadmin", Password: "Drift-pw-3",
		KeyBits: 1024, NewKey: func(int) (*rsa.PrivateKey, error) { return key, nil }, Noise: true,
		Nodes: []cucmsim.NodeSpec{
			{Name: "mpub", IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
			{Name: "msub", IP: netip.MustParseAddr("10.30.0.2"), CallManager: true, TFTP: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	pub, sub := sim.Node("mpub"), sim.Node("msub")
	host, port, _ := strings.Cut(pub.SSHAddr(), ":")
	y := fmt.Sprintf(`version: 1
clusters:
  - name: metro
    signing: tokenless
    mode: mixed
    platform:
      host: %s
      port: %s
      hostKeys: [%s, %s]
      credentials: {username: platformadmin, password: {env: CTLOPS_TEST_DRIFT_PW}}
      nodes:
        - {name: mpub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP, CAPF]}
        - {name: msub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP]}
`, host, port, pub.HostKey(), sub.HostKey(), pub.SSHAddr(), pub.TFTPAddr(), sub.SSHAddr(), sub.TFTPAddr())
	path := filepath.Join(t.TempDir(), "ctlops.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTLOPS_TEST_DRIFT_PW", "Drift-pw-3")
	cfg, _, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	run := func() (*drift.Result, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r, err := drift.Check(ctx, cfg, nil, drift.Options{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return r, b.String()
	}
	if r, text := run(); r.ExitCode() != 0 {
		t.Fatalf("exit %d before any event:\n%s", r.ExitCode(), text)
	}
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	r, text := run()
	if r.ExitCode() != 2 || !strings.Contains(text, "msub") || !strings.Contains(text, "utils ctl update CTLFile") {
		t.Fatalf("exit %d after regen-cert:\n%s", r.ExitCode(), text)
	}
	if !strings.Contains(text, "warning: ITL of msub") {
		t.Errorf("no ITL warning for msub:\n%s", text)
	}
	for _, c := range sim.Commands() {
		if strings.Contains(c, "utils ctl") || strings.Contains(c, "utils service") {
			t.Fatalf("drift typed a changing command: %q", c)
		}
	}
}
