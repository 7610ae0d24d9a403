// Package labtest sets up what tests of plan-based commands need: reference clusters on
// loopback (provider/providertest), SAST tokens as software keys with certificate files, a
// spec YAML pointing at both, and a signed CTL installed as a successful apply would leave it.
// It is the helper of plan's scenario tests made importable, for drift and later packages.
// SyncBuffer (syncbuffer.go) is the output buffer their tests poll while a command runs.
package labtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/spec"
)

// PasswordEnv is the variable the specs reference for the providers' password.
const PasswordEnv = "LAB_CTL_PASSWORD"

// TokenNames are the tokens every lab has.
var TokenNames = []string{"alice", "bob", "carol", "dave", "erin"}

// Token is a SAST token: a software key and its certificate file.
type Token struct {
	Name string
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
	File string
}

var (
	keysOnce sync.Once
	keys     []*rsa.PrivateKey
)

func testKeys() []*rsa.PrivateKey {
	keysOnce.Do(func() {
		for range TokenNames {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys = append(keys, k)
		}
	})
	return keys
}

// Lab is reference clusters plus a spec directory.
type Lab struct {
	T        testing.TB
	Dir      string
	Clusters map[string]*providertest.Cluster
	Tokens   map[string]*Token
	Now      time.Time
}

// New starts the clusters (name -> node count) and makes the tokens.
func New(t testing.TB, nodes map[string]int) *Lab {
	t.Helper()
	l := &Lab{T: t, Dir: t.TempDir(), Clusters: map[string]*providertest.Cluster{}, Tokens: map[string]*Token{}, Now: time.Now()}
	names := make([]string, 0, len(nodes))
	for name := range nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // refserver.Init generates RSA keys: keep the machine usable
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c := providertest.StartNamed(t, name, nodes[name])
			mu.Lock()
			l.Clusters[name] = c
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(l.Clusters) != len(names) {
		t.FailNow()
	}
	t.Setenv(PasswordEnv, providertest.Password)
	for i, name := range TokenNames {
		l.Tokens[name] = l.newToken(name, testKeys()[i], int64(0x5A5700+i))
	}
	return l
}

func (l *Lab) newToken(name string, key *rsa.PrivateKey, serial int64) *Token {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "SAST-" + name, OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Example"}},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		l.T.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(l.Dir, name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		l.T.Fatal(err)
	}
	return &Token{Name: name, Key: key, Cert: cert, File: file}
}

// ClusterSpec is one cluster of a test spec.
type ClusterSpec struct {
	Name, Mode string
	Tokens     []string
	// Providers overrides the provider lines (e.g. "tftp://127.0.0.1:PORT"); default: every
	// node's CTL Provider.
	Providers []string
	// Alternates are clusters whose first node is this cluster's alternate TFTP server.
	Alternates []string
	Extra      string // more YAML lines for the cluster, indented by 4
}

// Mixed is a mixed-mode cluster with the alice and bob tokens.
func Mixed(name string) ClusterSpec {
	return ClusterSpec{Name: name, Mode: "mixed", Tokens: []string{"alice", "bob"}}
}

// YAML renders the spec.
func (l *Lab) YAML(cs ...ClusterSpec) string {
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n")
	for _, c := range cs {
		pc := l.Clusters[c.Name]
		fmt.Fprintf(&b, "  - name: %s\n    mode: %s\n    providers:\n", c.Name, c.Mode)
		if c.Providers != nil {
			for _, p := range c.Providers {
				fmt.Fprintf(&b, "      - url: %s\n", p)
			}
		} else {
			for _, a := range pc.Addrs() {
				host, port, _ := strings.Cut(a, ":")
				fmt.Fprintf(&b, "      - {host: %s, port: %s}\n", host, port)
			}
			fmt.Fprintf(&b, "    credentials: {username: %s, password: {env: %s}}\n", pc.User, PasswordEnv)
			fmt.Fprintf(&b, "    tls: {ca: %s}\n", pc.CAFile)
		}
		b.WriteString("    tokens:\n")
		for _, tk := range c.Tokens {
			fmt.Fprintf(&b, "      - {name: %s, certificate: %s}\n", tk, l.Tokens[tk].File)
		}
		if len(c.Alternates) > 0 {
			b.WriteString("    alternateTFTP:\n")
			for _, a := range c.Alternates {
				host, port, _ := strings.Cut(l.Clusters[a].Addrs()[0], ":")
				fmt.Fprintf(&b, "      - {host: %s, port: %s, cluster: %s}\n", host, port, a)
			}
		}
		b.WriteString(c.Extra)
	}
	return b.String()
}

// WriteSpec writes Dir/ctlops.yaml and returns its path.
func (l *Lab) WriteSpec(cs ...ClusterSpec) string {
	l.T.Helper()
	path := filepath.Join(l.Dir, "ctlops.yaml")
	if err := os.WriteFile(path, []byte(l.YAML(cs...)), 0o644); err != nil {
		l.T.Fatal(err)
	}
	return path
}

// Spec writes and loads the spec.
func (l *Lab) Spec(cs ...ClusterSpec) *spec.Config {
	l.T.Helper()
	cfg, err := l.TrySpec(cs...)
	if err != nil {
		l.T.Fatalf("spec: %v", err)
	}
	return cfg
}

// TrySpec writes and loads the spec, returning the loader's error.
func (l *Lab) TrySpec(cs ...ClusterSpec) (*spec.Config, error) {
	l.T.Helper()
	cfg, _, err := spec.Load(l.WriteSpec(cs...))
	return cfg, err
}

// Plan fetches and plans cfg.
func (l *Lab) Plan(cfg *spec.Config, names ...string) *plan.Plan {
	l.T.Helper()
	return l.PlanWith(cfg, 64, names...)
}

// PlanWith is Plan with a given parallelism.
func (l *Lab) PlanWith(cfg *spec.Config, parallelism int, names ...string) *plan.Plan {
	l.T.Helper()
	p, err := live.Plan(context.Background(), cfg, names, live.Options{Parallelism: parallelism, Timeout: 10 * time.Second, Retries: -1}, "test", l.Now)
	if err != nil {
		l.T.Fatal(err)
	}
	return p
}

// InstallAll installs every planned cluster's desired file, signed by signer, in mixed mode
// (the mode the specs declare); see Install.
func (l *Lab) InstallAll(p *plan.Plan, signer string) {
	l.T.Helper()
	for _, c := range p.Clusters {
		l.Install(c, signer)
	}
}

// Install signs a cluster's desired file with a token and places it on every node and every
// alternate TFTP server's alternate location, and sets the cluster's mode, as a successful
// apply would; it returns the signed bytes.
func (l *Lab) Install(c *plan.Cluster, signer string) []byte {
	l.T.Helper()
	if c.Desired == nil {
		l.T.Fatalf("cluster %s has nothing to install: %s %s", c.Name, c.SummaryLine(), c.Error)
	}
	data := l.Sign(c.Desired.Data, signer)
	pc := l.Clusters[c.Name]
	for _, n := range pc.Nodes() {
		pc.PutCTL(n.Name, data)
	}
	for _, tg := range c.Targets {
		if tg.Alternate {
			l.putAlternate(tg.Address, c.Name, data)
		}
	}
	if c.Mode.Changed {
		l.SetMode(c.Name, string(c.Mode.To))
	}
	return data
}

// putAlternate writes a cluster's file into the alternate location of the node at addr.
func (l *Lab) putAlternate(addr, cluster string, data []byte) {
	l.T.Helper()
	for _, pc := range l.Clusters {
		for _, n := range pc.Nodes() {
			if n.Addr != addr {
				continue
			}
			dir := filepath.Join(n.FileLocation(), provider.AlternateDir, cluster)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				l.T.Fatal(err)
			}
			if err := provider.WriteCTLFile(dir, data); err != nil {
				l.T.Fatal(err)
			}
			return
		}
	}
	l.T.Fatalf("labtest: no node at %s", addr)
}

// Sign signs an unsigned CTL with a token.
func (l *Lab) Sign(unsigned []byte, signer string) []byte {
	l.T.Helper()
	f, err := ctl.Parse(unsigned)
	if err != nil {
		l.T.Fatal(err)
	}
	tk := l.Tokens[signer]
	if err := f.Sign(tk.Key, tk.Cert, ctl.SHA1, l.Now); err != nil {
		l.T.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		l.T.Fatal(err)
	}
	return data
}

// SetMode sets a cluster's security mode through its first node, under the update lock.
func (l *Lab) SetMode(cluster, mode string) {
	l.T.Helper()
	pc := l.Clusters[cluster]
	cl := pc.Client(pc.Nodes()[0].Name)
	defer cl.CloseIdleConnections()
	ctx := context.Background()
	lk, err := cl.Lock(ctx, provider.LockRequest{User: "labtest", Host: "labtest", Operation: "set mode", LeaseSec: 60})
	if err != nil {
		l.T.Fatal(err)
	}
	defer cl.ReleaseLock(ctx, lk.ID)
	if err := cl.SetMode(ctx, lk.ID, provider.Mode(mode)); err != nil {
		l.T.Fatal(err)
	}
}
