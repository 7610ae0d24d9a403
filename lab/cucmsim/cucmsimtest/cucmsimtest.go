// Package cucmsimtest starts the simulated two-node tokenless cluster that tests of live,
// drift and apply read and change, and writes the spec that declares it: one definition of
// the test cluster, as providertest is for token clusters.
package cucmsimtest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/spec"
)

// User and Password are the simulated platform administrator's; PasswordEnv is where the spec
// Spec writes reads the password from (set by Spec for the test).
const (
	User        = "platformadmin"
	Password    = "s3cret-pw"
	PasswordEnv = "CTLOPS_TEST_PLATFORM_PW"
)

var (
	keyOnce sync.Once
	keys    []*rsa.PrivateKey
	keyMu   sync.Mutex
	keyNext int
)

// PooledKey hands out a few pre-made 1024-bit keys in turn: certificates stay distinct (fresh
// serials) while tests do not spend their time generating RSA keys.
func PooledKey(int) (*rsa.PrivateKey, error) {
	keyOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				panic(err)
			}
			keys = append(keys, k)
		}
	})
	keyMu.Lock()
	defer keyMu.Unlock()
	keyNext++
	return keys[keyNext%len(keys)], nil
}

// Start starts metro: mpub (publisher: CallManager, TFTP, CAPF) and msub (CallManager, TFTP)
// on 127.0.0.1, at release, already in mixed mode when mixed; it is closed when t ends.
func Start(t testing.TB, release string, mixed bool) *cucmsim.Cluster {
	t.Helper()
	return StartNodes(t, release, mixed,
		cucmsim.NodeSpec{Name: "mpub", IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
		cucmsim.NodeSpec{Name: "msub", IP: netip.MustParseAddr("10.30.0.2"), CallManager: true, TFTP: true})
}

// StartNodes is Start with other nodes than mpub and msub (one of them with Publisher set),
// for tests of what those two do not show.
func StartNodes(t testing.TB, release string, mixed bool, nodes ...cucmsim.NodeSpec) *cucmsim.Cluster {
	t.Helper()
	sim, err := cucmsim.Start(cucmsim.Config{Release: release, Mixed: mixed, User: User, Password: Password,
		KeyBits: 1024, NewKey: PooledKey, Noise: true, Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// YAML is a spec declaring sim as the tokenless cluster metro in mode, both host keys pinned.
func YAML(sim *cucmsim.Cluster, mode string) string {
	pub, sub := sim.Node("mpub"), sim.Node("msub")
	host, port, _ := strings.Cut(pub.SSHAddr(), ":")
	return fmt.Sprintf(`version: 1
clusters:
  - name: metro
    signing: tokenless
    mode: %s
    platform:
      host: %s
      port: %s
      hostKeys: [%s, %s]
      credentials: {username: %s, password: {env: %s}}
      nodes:
        - {name: mpub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP, CAPF]}
        - {name: msub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP]}
`, mode, host, port, pub.HostKey(), sub.HostKey(), User, PasswordEnv, pub.SSHAddr(), pub.TFTPAddr(), sub.SSHAddr(), sub.TFTPAddr())
}

// Spec writes YAML(sim, mode) into a temporary folder, sets the password's variable for the
// test and loads it.
func Spec(t *testing.T, sim *cucmsim.Cluster, mode string) *spec.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctlops.yaml")
	if err := os.WriteFile(path, []byte(YAML(sim, mode)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PasswordEnv, Password)
	cfg, _, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
