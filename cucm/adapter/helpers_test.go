package adapter

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/lab/cucmsim"
)

// keyPool hands out a few pre-made keys in turn: node certificates stay distinct (fresh
// serials) while tests do not spend their time in RSA key generation.
var (
	poolOnce sync.Once
	poolKeys []*rsa.PrivateKey
	poolMu   sync.Mutex
	poolNext int
)

func pooledKey(bits int) (*rsa.PrivateKey, error) {
	poolOnce.Do(func() {
		for range 6 {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				panic(err)
			}
			poolKeys = append(poolKeys, k)
		}
	})
	poolMu.Lock()
	defer poolMu.Unlock()
	poolNext++
	return poolKeys[poolNext%len(poolKeys)], nil
}

const testPassword = "lab-Secret-1"

type simOpts struct {
	release string
	mixed   bool
	subs    int
	delays  cucmsim.Delays
}

// startSim starts a simulated cluster of a publisher and subs subscribers on loopback and
// returns it with a Cluster that reaches it.
func startSim(t testing.TB, o simOpts) (*cucmsim.Cluster, *Cluster) {
	t.Helper()
	if o.release == "" {
		o.release = "12.5.1.11900-146"
	}
	specs := []cucmsim.NodeSpec{{Name: "mpub", Domain: "lab.example", IP: netip.MustParseAddr("10.20.0.10"),
		Publisher: true, CallManager: true, TFTP: true, CAPF: true}}
	for i := 1; i <= o.subs; i++ {
		specs = append(specs, cucmsim.NodeSpec{Name: fmt.Sprintf("msub%d", i), Domain: "lab.example",
			IP: netip.AddrFrom4([4]byte{10, 20, 0, byte(10 + i)}), CallManager: true, TFTP: true})
	}
	c, err := cucmsim.Start(cucmsim.Config{Release: o.release, Mixed: o.mixed, Nodes: specs, User: "platformadmin",
		Password: testPassword, Delays: o.delays, KeyBits: 1024, NewKey: pooledKey, Noise: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	tg := &Cluster{Cluster: "metro", Publisher: "mpub", User: "platformadmin",
		Password: func() (string, error) { return testPassword, nil }, TFTPTimeout: 2 * time.Second,
		SSH: platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second, Nudge: time.Second}}
	for _, n := range c.Nodes() {
		tg.Nodes = append(tg.Nodes, declaredNode(n))
	}
	return c, tg
}

func declaredNode(n *cucmsim.Node) Node {
	s := n.Spec()
	return Node{Name: s.Name, SSH: n.SSHAddr(), TFTP: n.TFTPAddr(), HostKeys: []string{n.HostKey()},
		CallManager: s.CallManager, TFTPService: s.TFTP, CAPF: s.CAPF}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// check reads and evaluates with a fresh pool, as one plan or drift run does.
func check(t *testing.T, tg *Cluster, wantMixed bool) *Check {
	t.Helper()
	p := NewPool(tg)
	defer p.Close()
	st, err := Read(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Evaluate(st, wantMixed, time.Now(), tokenless.DefaultExpiryWarning)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func apply(t *testing.T, tg *Cluster, o ApplyOptions) (*ApplyResult, error) {
	t.Helper()
	p := NewPool(tg)
	defer p.Close()
	return Apply(ctx(t), p, o)
}

func diffs(c *Check) []string {
	var out []string
	for _, n := range c.Nodes {
		for _, d := range n.Differences {
			out = append(out, n.Node+" "+d.Kind)
		}
	}
	return out
}
