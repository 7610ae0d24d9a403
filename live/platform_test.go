package live

import (
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

	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/spec"
)

// TestPlatformTargetFromSpec: a tokenless cluster declared in YAML reaches the simulated
// CUCM and plans set-cluster mixed-mode; the password comes from the environment.
func TestPlatformTargetFromSpec(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := cucmsim.Start(cucmsim.Config{Release: "12.5.1.11900-146", User: "platformadmin", Password: "s3cret-pw",
		KeyBits: 1024, NewKey: func(int) (*rsa.PrivateKey, error) { return key, nil },
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
      credentials: {username: platformadmin, password: {env: CTLOPS_TEST_PLATFORM_PW}}
      nodes:
        - {name: mpub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP, CAPF]}
        - {name: msub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP]}
`, host, port, pub.HostKey(), sub.HostKey(), pub.SSHAddr(), pub.TFTPAddr(), sub.SSHAddr(), sub.TFTPAddr())
	path := filepath.Join(t.TempDir(), "ctlops.yaml")
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTLOPS_TEST_PLATFORM_PW", "s3cret-pw")
	cfg, _, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := PlatformTarget(cfg.Cluster("metro"), 2)
	if err != nil {
		t.Fatal(err)
	}
	tg.SSH = platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := adapter.NewPool(tg)
	defer p.Close()
	st, err := adapter.Read(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := adapter.Evaluate(st, cfg.Cluster("metro").Mode == spec.ModeMixed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Action != platform.SetMixedMode {
		t.Fatalf("action %q, want set-cluster mixed-mode", c.Action)
	}
}
