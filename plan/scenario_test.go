package plan_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
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

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// token is a SAST token of the tests: a software key and its certificate file.
type token struct {
	name string
	key  *rsa.PrivateKey
	cert *x509.Certificate
	file string
}

var (
	keysOnce sync.Once
	keys     []*rsa.PrivateKey
)

// testKeys are generated once per test binary: five RSA-2048 keys take a moment.
func testKeys(t testing.TB) []*rsa.PrivateKey {
	keysOnce.Do(func() {
		for range 5 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			keys = append(keys, k)
		}
	})
	return keys
}

// lab is one or two reference clusters on loopback plus a spec directory.
type lab struct {
	t        testing.TB
	dir      string
	clusters map[string]*providertest.Cluster
	tokens   map[string]*token
	now      time.Time
}

func newLab(t *testing.T, nodes map[string]int) *lab {
	t.Helper()
	l := &lab{t: t, dir: t.TempDir(), clusters: map[string]*providertest.Cluster{}, tokens: map[string]*token{},
		now: time.Now()}
	for name, n := range nodes {
		l.clusters[name] = providertest.StartNamed(t, name, n)
	}
	t.Setenv("LAB_CTL_PASSWORD", providertest.Password)
	for i, name := range []string{"alice", "bob", "carol", "dave", "erin"} {
		l.tokens[name] = l.newToken(name, testKeys(t)[i], int64(0x5A5700+i))
	}
	return l
}

func (l *lab) newToken(name string, key *rsa.PrivateKey, serial int64) *token {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "SAST-" + name, OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Example"}},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		l.t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(l.dir, name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return &token{name: name, key: key, cert: cert, file: file}
}

// clusterSpec is one cluster of a test spec.
type clusterSpec struct {
	name, mode string
	tokens     []string
	alternates []string // cluster names whose first node is this cluster's alternate TFTP
	extra      string   // more YAML lines for the cluster, indented by 4
}

// spec writes ctlops.yaml for the given clusters and loads it.
func (l *lab) spec(cs ...clusterSpec) *spec.Config {
	l.t.Helper()
	cfg, err := l.trySpec(cs...)
	if err != nil {
		l.t.Fatalf("spec: %v", err)
	}
	return cfg
}

func (l *lab) trySpec(cs ...clusterSpec) (*spec.Config, error) {
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n")
	for _, c := range cs {
		pc := l.clusters[c.name]
		fmt.Fprintf(&b, "  - name: %s\n    mode: %s\n    providers:\n", c.name, c.mode)
		for _, a := range pc.Addrs() {
			host, port, _ := strings.Cut(a, ":")
			fmt.Fprintf(&b, "      - {host: %s, port: %s}\n", host, port)
		}
		fmt.Fprintf(&b, "    credentials: {username: %s, password: {env: LAB_CTL_PASSWORD}}\n", pc.User)
		fmt.Fprintf(&b, "    tls: {ca: %s}\n    tokens:\n", pc.CAFile)
		for _, tk := range c.tokens {
			fmt.Fprintf(&b, "      - {name: %s, certificate: %s}\n", tk, l.tokens[tk].file)
		}
		if len(c.alternates) > 0 {
			b.WriteString("    alternateTFTP:\n")
			for _, a := range c.alternates {
				host, port, _ := strings.Cut(l.clusters[a].Addrs()[0], ":")
				fmt.Fprintf(&b, "      - {host: %s, port: %s, cluster: %s}\n", host, port, a)
			}
		}
		b.WriteString(c.extra)
	}
	path := filepath.Join(l.dir, "ctlops.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		l.t.Fatal(err)
	}
	cfg, _, err := spec.Load(path)
	return cfg, err
}

func (l *lab) plan(cfg *spec.Config, names ...string) *plan.Plan {
	l.t.Helper()
	return l.planWith(cfg, 10, names...)
}

func (l *lab) planWith(cfg *spec.Config, parallelism int, names ...string) *plan.Plan {
	l.t.Helper()
	p, err := live.Plan(context.Background(), cfg, names, live.Options{Parallelism: parallelism, Timeout: 10 * time.Second, Retries: -1}, "test", l.now)
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// install signs a cluster's desired file with a token and places it on every target, as a
// successful apply would; it returns the signed bytes.
func (l *lab) install(p *plan.Plan, cluster, signer string) []byte {
	l.t.Helper()
	c := clusterOf(l.t, p, cluster)
	if c.Desired == nil {
		l.t.Fatalf("cluster %s has nothing to install: %s", cluster, c.SummaryLine())
	}
	f, err := ctl.Parse(c.Desired.Data)
	if err != nil {
		l.t.Fatal(err)
	}
	tk := l.tokens[signer]
	if err := f.Sign(tk.key, tk.cert, ctl.SHA1, l.now); err != nil {
		l.t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		l.t.Fatal(err)
	}
	for _, n := range l.clusters[cluster].Nodes() {
		l.clusters[cluster].PutCTL(n.Name, data)
	}
	for _, tg := range c.Targets {
		if tg.Alternate {
			l.putAlternate(tg.Address, cluster, data)
		}
	}
	if mode := provider.Mode(c.Mode.To); c.Mode.Changed {
		l.setMode(cluster, mode)
	}
	return data
}

func (l *lab) putAlternate(addr, cluster string, data []byte) {
	for _, pc := range l.clusters {
		for _, n := range pc.Nodes() {
			if n.Addr == addr {
				dir := filepath.Join(n.FileLocation(), provider.AlternateDir, cluster)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					l.t.Fatal(err)
				}
				if err := provider.WriteCTLFile(dir, data); err != nil {
					l.t.Fatal(err)
				}
				return
			}
		}
	}
	l.t.Fatalf("no node at %s", addr)
}

func (l *lab) setMode(cluster string, mode provider.Mode) {
	l.t.Helper()
	pc := l.clusters[cluster]
	cl := pc.Client(pc.Nodes()[0].Name)
	ctx := context.Background()
	lk, err := cl.Lock(ctx, provider.LockRequest{User: "test", Host: "test", Operation: "set mode", LeaseSec: 60})
	if err != nil {
		l.t.Fatal(err)
	}
	defer cl.ReleaseLock(ctx, lk.ID)
	if err := cl.SetMode(ctx, lk.ID, mode); err != nil {
		l.t.Fatal(err)
	}
}

func clusterOf(t testing.TB, p *plan.Plan, name string) *plan.Cluster {
	for _, c := range p.Clusters {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cluster %s in the plan", name)
	return nil
}

// normalize replaces what differs between runs (generated keys, ports, paths, dates) so that
// golden files hold the shape of a plan and every word of it.
var normalizers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	{regexp.MustCompile(`/tmp/[^\s"'):,]+`), "TMPDIR"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<sha256>"},
	{regexp.MustCompile(`sha256:<sha256>`), "<sha256>"},
	{regexp.MustCompile(`\b[0-9a-f]{12}…`), "<hex>…"},
	{regexp.MustCompile(`"data": "[A-Za-z0-9+/=]+"`), `"data": "<base64>"`},
	{regexp.MustCompile(`\b[0-9a-f]{10,40}\b`), "<serial>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d`), "<time>"},
	{regexp.MustCompile(`@@ -\d+,\d+ \+\d+,\d+ @@`), "@@ hunk @@"},
	{regexp.MustCompile(`"size": \d+`), `"size": N`},
	{regexp.MustCompile(`\(\d+ bytes\)`), "(N bytes)"},
}

func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.repl)
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	got = normalize(got)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./plan -update writes it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		line := func(ls []string) string {
			if i < len(ls) {
				return ls[i]
			}
			return "(end)"
		}
		t.Errorf("%s differs from the golden file at line %d (go test ./plan -update rewrites it):\n got: %s\nwant: %s", path, i+1, line(gl), line(wl))
	}
}

// goldenAll checks the three views of a plan.
func goldenAll(t *testing.T, name string, p *plan.Plan) {
	t.Helper()
	var txt, md, js bytes.Buffer
	if err := p.WriteText(&txt, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMarkdown(&md, plan.MarkdownOptions{ApplyCommand: "ctlops apply plan.json"}); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("scenarios", name+".txt"), txt.String())
	golden(t, filepath.Join("scenarios", name+".md"), md.String())
	golden(t, filepath.Join("scenarios", name+".json"), js.String())
	for _, out := range []string{txt.String(), md.String(), js.String()} {
		if strings.Contains(out, providertest.Password) {
			t.Fatal("the provider password appears in a plan view")
		}
	}
}
