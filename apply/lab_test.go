package apply_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token/softhsm"
)

// The SoftHSM2 world of this test binary: made once in TestMain, because the PKCS#11 module
// reads SOFTHSM2_CONF when it is first loaded.
var (
	hsm    *softhsm.Env
	tokens = map[string]*softhsm.Token{}
	// pins are every token PIN: they must appear in no output, log or file.
	pins []string
)

// Tokens of the tests. alice, bob and carol are declared; mallory is a real token that no
// CTL trusts; nokey holds a certificate without its key; dave is only ever given a wrong PIN,
// so that no earlier login of this process hides the failure (PKCS#11 logins are per process).
var tokenLabels = []string{"alice", "bob", "carol", "mallory", "nokey", "dave"}

func TestMain(m *testing.M) {
	if os.Getenv(killChildEnv) != "" {
		os.Exit(killChild())
	}
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "apply-hsm-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		hsm, err = softhsm.NewEnv(filepath.Join(dir, "hsm"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "apply tests need SoftHSM2:", err)
			return 1
		}
		os.Setenv("SOFTHSM2_CONF", hsm.Conf)
		os.Unsetenv("CTLOPS_TOKEN_PIN")
		os.Unsetenv("CTLOPS_PKCS11_MODULE")
		ctx := context.Background()
		for i, label := range tokenLabels {
			pin := fmt.Sprintf("Pq%d-%s-pin", i+4, label)
			tk, err := hsm.CreateToken(ctx, softhsm.TokenSpec{Label: label, PIN: pin, NoKey: label == "nokey"})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			tokens[label] = tk
			pins = append(pins, pin)
		}
		return m.Run()
	}())
}

// lab is reference clusters on loopback and a spec directory.
type lab struct {
	t        testing.TB
	dir      string
	clusters map[string]*providertest.Cluster
	mu       sync.Mutex
	captured []string // every output and error, scanned for secrets at the end
}

func newLab(t testing.TB, nodes map[string]int) *lab {
	t.Helper()
	l := &lab{t: t, dir: t.TempDir(), clusters: map[string]*providertest.Cluster{}}
	for name, n := range nodes {
		l.clusters[name] = providertest.StartNamed(t, name, n)
	}
	t.Setenv("LAB_CTL_PASSWORD", providertest.Password)
	for _, label := range tokenLabels {
		if err := os.WriteFile(filepath.Join(l.dir, label+".pem"), tokens[label].CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(l.checkSecrets)
	return l
}

// checkSecrets fails the test if a PIN or the provider password appears in anything captured
// or in any file under the lab directory (audit log, plan files).
func (l *lab) checkSecrets() {
	secrets := append([]string{providertest.Password}, pins...)
	all := strings.Join(l.captured, "\n")
	_ = filepath.Walk(l.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && !strings.HasSuffix(p, ".pem") {
			b, _ := os.ReadFile(p)
			all += "\n" + string(b)
		}
		return nil
	})
	if !strings.Contains(all, "ctlops apply") && !strings.Contains(all, "Cluster") {
		l.t.Error("nothing was captured: the secret scan would be vacuous")
	}
	if lockURL.MatchString(all) {
		l.t.Errorf("a lock id (a capability) appears in the output: %s", lockURL.FindString(all))
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			l.t.Errorf("a secret (%d characters) appears in the output, the audit log or a file", len(s))
		}
	}
}

var lockURL = regexp.MustCompile(`/lock/[0-9a-f]{8,}`)

// cs is one cluster of a test spec.
type cs struct {
	name, mode string
	tokens     []string
	alternates []string // clusters whose first node is this cluster's alternate TFTP
	extra      string
}

func (l *lab) spec(cl ...cs) *spec.Config {
	l.t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n")
	for _, c := range cl {
		pc := l.clusters[c.name]
		fmt.Fprintf(&b, "  - name: %s\n    mode: %s\n    providers:\n", c.name, c.mode)
		for _, a := range pc.Addrs() {
			host, port, _ := strings.Cut(a, ":")
			fmt.Fprintf(&b, "      - {host: %s, port: %s}\n", host, port)
		}
		fmt.Fprintf(&b, "    credentials: {username: %s, password: {env: LAB_CTL_PASSWORD}}\n", pc.User)
		fmt.Fprintf(&b, "    tls: {ca: %s}\n    tokens:\n", pc.CAFile)
		for _, tk := range c.tokens {
			fmt.Fprintf(&b, "      - {name: %s, certificate: %s.pem}\n", tk, tk)
		}
		if len(c.alternates) > 0 {
			b.WriteString("    alternateTFTP:\n")
			for _, a := range c.alternates {
				host, port, _ := strings.Cut(l.clusters[a].Addrs()[0], ":")
				fmt.Fprintf(&b, "      - {host: %s, port: %s, cluster: %s}\n", host, port, a)
			}
		}
		fmt.Fprintf(&b, "    signWith: {pkcs11: {module: %s}}\n", hsm.Module)
		b.WriteString(c.extra)
	}
	path := filepath.Join(l.dir, "ctlops.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		l.t.Fatal(err)
	}
	cfg, _, err := spec.Load(path)
	if err != nil {
		l.t.Fatalf("spec: %v", err)
	}
	return cfg
}

func (l *lab) plan(cfg *spec.Config, names ...string) *plan.Plan {
	l.t.Helper()
	p, err := live.Plan(context.Background(), cfg, names, live.Options{Timeout: 5 * time.Second, Retries: -1}, "test", time.Now())
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// pinFile writes a token's PIN (or any text) to a file outside the lab directory's scan: PIN
// files are where PINs belong.
func (l *lab) pinFile(pin string) string {
	l.t.Helper()
	p := filepath.Join(l.t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(pin+"\n"), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return p
}

// opts are the options of an unattended apply signing with the named token.
func (l *lab) opts(cfg *spec.Config, signer string, out *bytes.Buffer) apply.Options {
	return apply.Options{
		Config: cfg, SpecPath: filepath.Join(l.dir, "ctlops.yaml"), Version: "test",
		Live:        live.Options{Timeout: 5 * time.Second, Retries: -1, Parallelism: 4},
		AutoApprove: true, Out: out,
		OpenSigner: apply.TokenOpener(apply.TokenOptions{Label: signer, PINFile: l.pinFile(tokens[signer].PIN)}),
		User:       "tester", Host: "testhost",
	}
}

// run applies with o and captures everything it printed and its error.
func (l *lab) run(o apply.Options) (*apply.Result, string, error) {
	l.t.Helper()
	var out bytes.Buffer
	if o.Out == nil {
		o.Out = &out
	}
	res, err := apply.Run(context.Background(), o)
	text := o.Out.(*bytes.Buffer).String()
	l.mu.Lock()
	l.captured = append(l.captured, text)
	if err != nil {
		l.captured = append(l.captured, err.Error())
	}
	l.mu.Unlock()
	return res, text, err
}

// mustApply applies cfg signed by signer and fails the test on any error.
func (l *lab) mustApply(cfg *spec.Config, signer string, names ...string) *apply.Result {
	l.t.Helper()
	var out bytes.Buffer
	o := l.opts(cfg, signer, &out)
	o.Clusters = names
	res, text, err := l.run(o)
	if err != nil {
		l.t.Fatalf("apply: %v\n%s", err, text)
	}
	return res
}

// servedFile fetches node's CTLFile.tlv over TFTP, as a phone does (R4).
func servedFile(t testing.TB, n *providertest.Node) []byte {
	t.Helper()
	r, err := provider.NewTFTPReader(n.TFTPAddr, provider.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := r.CTL(context.Background())
	if err != nil {
		t.Fatalf("TFTP %s: %v", n.Name, err)
	}
	return data
}

// checkServed checks that every node of cluster serves the same file over TFTP, that it
// verifies, and that it is signed by the token signer; it returns the parsed file.
func (l *lab) checkServed(cluster, signer string) *ctl.File {
	l.t.Helper()
	var first []byte
	for _, n := range l.clusters[cluster].Nodes() {
		data := servedFile(l.t, n)
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			l.t.Errorf("cluster %s: node %s serves another file than the first node", cluster, n.Name)
		}
	}
	f, err := ctl.Parse(first)
	if err != nil {
		l.t.Fatal(err)
	}
	if err := f.Verify(); err != nil {
		l.t.Fatalf("served file does not verify: %v", err)
	}
	i := f.SignerRecord()
	if i < 0 || !bytes.Equal(f.Records[i].Certificate, tokens[signer].Cert.Raw) {
		l.t.Fatalf("served file is signed by %q, want token %s", f.Header.SignerName, signer)
	}
	return f
}

// nodeMode is the mode node reports as its own (the reference server keeps it per node).
func (l *lab) nodeMode(cluster, node string) string {
	l.t.Helper()
	pc := l.clusters[cluster]
	inv, err := pc.Client(node).Cluster(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	return string(inv.Mode)
}

// noChanges checks that a new plan finds nothing to do.
func (l *lab) noChanges(cfg *spec.Config) {
	l.t.Helper()
	p := l.plan(cfg)
	if p.HasChanges() || p.Failed() {
		var b bytes.Buffer
		p.WriteText(&b, plan.TextOptions{})
		l.t.Fatalf("a plan after apply still has changes:\n%s", b.String())
	}
}

// digests returns what each node of cluster holds, by node name ("" for none).
func (l *lab) digests(cluster string) map[string]string {
	l.t.Helper()
	pc := l.clusters[cluster]
	out := map[string]string{}
	for _, n := range pc.Nodes() {
		data, err := provider.ReadCTLFile(n.FileLocation())
		switch {
		case errors.Is(err, provider.ErrNoCTL):
			out[n.Name] = ""
		case err != nil:
			l.t.Fatal(err)
		default:
			out[n.Name] = provider.ETag(data)
		}
	}
	return out
}

// unlocked checks that no node of cluster is left locked.
func (l *lab) unlocked(cluster string) {
	l.t.Helper()
	pc := l.clusters[cluster]
	for _, n := range pc.Nodes() {
		lk, err := pc.Client(n.Name).GetLock(context.Background())
		if !errors.Is(err, provider.ErrNotLocked) {
			l.t.Errorf("node %s: lock left behind: %v %v", n.Name, lk, err)
		}
	}
}

// auditLines are the result lines of the audit log beside the spec, one per apply that
// reached the servers (the "intent" lines before them are left out; auditAll has them).
func (l *lab) auditLines() []apply.AuditEntry {
	l.t.Helper()
	var out []apply.AuditEntry
	for _, e := range l.auditAll() {
		if e.Result != "intent" {
			out = append(out, e)
		}
	}
	return out
}

// auditAll reads every line of the audit log beside the spec.
func (l *lab) auditAll() []apply.AuditEntry {
	l.t.Helper()
	b, err := os.ReadFile(filepath.Join(l.dir, ".ctlops", "audit.jsonl"))
	if err != nil {
		l.t.Fatal(err)
	}
	var out []apply.AuditEntry
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e apply.AuditEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			l.t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}
