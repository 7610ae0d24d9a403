package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
	"github.com/ctlops/ctlops/spec"
)

// providerBin is ctl-provider built once for the package's tests: the lab runs nodes as
// separate processes, as users get them.
var providerBin string

func TestMain(m *testing.M) {
	if os.Getenv("CTLOPS_TEST_CLAIM") != "" {
		os.Exit(m.Run()) // TestPortClaimHelper's process: it needs no ctl-provider
	}
	// In-process labs take their nodes' keys from a pool (their processes make their own).
	refserver.SetKeySource(refserver.KeyPool(64))
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "lab-test-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		providerBin = filepath.Join(dir, ProviderBinary)
		NodesDieWithCaller = true
		out, err := exec.Command("go", "build", "-o", providerBin, "github.com/ctlops/ctlops/cmd/ctl-provider").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building ctl-provider: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}

// TestLab runs the lab as a user does: up, status, the spec and env it wrote, a node's
// inventory through provider.Client with the lab's CA and password, every event seen in the
// inventory or in the files served, down leaving no process, a second down, and up again.
func TestLab(t *testing.T) {
	if err := haveSoftHSM(); err != nil {
		t.Skipf("SoftHSM2 tokens need the Debian packages softhsm2, opensc, gnutls-bin (scripts/install-deps.sh): %v", err)
	}
	l := up(t, false)
	ctx := context.Background()
	env := setEnv(t, l)

	// Status: the topology, every node running, on loopback.
	st := status(t, l)
	type row struct{ cluster, name, roles string }
	var got []row
	for _, s := range st {
		got = append(got, row{s.Cluster, s.Name, strings.Join(s.Roles, ",")})
		if !procAlive(s.PID) {
			t.Errorf("%s/%s: pid %d is not running", s.Cluster, s.Name, s.PID)
		}
		endpoint := s.HTTPS
		if s.Cluster == Metro {
			endpoint = s.SSH // metro: the platform CLI (metro_test.go)
		}
		for _, a := range []string{endpoint, s.TFTP} {
			if h, _, err := net.SplitHostPort(a); err != nil || h != "127.0.0.1" {
				t.Errorf("%s/%s: address %q is not on 127.0.0.1", s.Cluster, s.Name, a)
			}
		}
	}
	want := []row{{"hq", "cm1", "CCM,TFTP,CAPF"}, {"hq", "cm2", "CCM,TFTP"}, {"hq", "cm3", "TFTP"}, {"branch", "br1", "CCM,TFTP"},
		{"metro", "mpub", "CCM,TFTP,CAPF"}, {"metro", "msub", "CCM,TFTP"}}
	if !slices.Equal(got, want) {
		t.Fatalf("status:\n got %v\nwant %v", got, want)
	}

	// The JSON form has exactly the keys the issue lists.
	var buf bytes.Buffer
	if err := WriteStatusJSON(&buf, st); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 6 {
		t.Fatalf("status JSON lists %d nodes", len(list))
	}
	for _, n := range list {
		if n["cluster"] == Metro {
			continue // ssh instead of https and no serviceability: metro_test.go
		}
		var keys []string
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, []string{"cluster", "https", "name", "pid", "roles", "serviceability", "tftp"}) {
			t.Errorf("status JSON keys %v", keys)
		}
	}

	// A second up refuses: the lab runs.
	if _, err := Up(ctx, UpOptions{Dir: l.Dir, Provider: providerBin}); !errors.Is(err, ErrRunning) {
		t.Errorf("second up: %v, want ErrRunning", err)
	}

	// lab.env: what plan, apply and drift need, nothing missing.
	for _, k := range []string{"SOFTHSM2_CONF", "CTLOPS_PKCS11_MODULE", "CTLOPS_TOKEN_PIN", "LAB_HQ_PASSWORD", "LAB_BRANCH_PASSWORD"} {
		if env[k] == "" {
			t.Errorf("lab.env does not export %s", k)
		}
	}
	if fi, err := os.Stat(l.path(EnvFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lab.env mode: %v %v", fi.Mode(), err)
	}

	// The spec loads without a warning once lab.env is sourced, and says what the issue says.
	cfg, warns, err := spec.Load(l.path(SpecFile))
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	if len(warns) > 0 {
		t.Errorf("spec warnings with lab.env set: %v", warns)
	}
	hq, branch := cfg.Cluster(HQ), cfg.Cluster(Branch)
	if hq == nil || branch == nil {
		t.Fatalf("spec clusters: %v", cfg.Clusters)
	}
	if len(hq.Providers) != 3 || len(branch.Providers) != 1 || len(hq.Tokens) != 2 {
		t.Errorf("spec: hq %d providers, %d tokens; branch %d providers", len(hq.Providers), len(hq.Tokens), len(branch.Providers))
	}
	if len(hq.AlternateTFTP) != 1 || hq.AlternateTFTP[0].Cluster != Branch || hq.AlternateTFTP[0].Addr() != st[3].HTTPS {
		t.Errorf("spec: hq alternateTFTP %+v, want branch's %s", hq.AlternateTFTP, st[3].HTTPS)
	}
	if sw := hq.SignWith; sw == nil || sw.PKCS11 == nil || sw.PKCS11.TokenLabel != TokenLabels[0] || sw.PKCS11.Module != env["CTLOPS_PKCS11_MODULE"] {
		t.Errorf("spec: signWith %+v", hq.SignWith)
	}

	// A node's inventory through the protocol client, with the lab's CA and password.
	inv := inventory(t, l, "cm1")
	if inv.Cluster != HQ || !slices.Equal(names(inv), []string{"cm1", "cm2", "cm3"}) {
		t.Fatalf("hq inventory: %s %v", inv.Cluster, names(inv))
	}
	if s := server(inv, "cm3"); s.HasRole(provider.RoleCCM) || !s.HasRole(provider.RoleTFTP) {
		t.Errorf("cm3 roles %v, want TFTP only", s.Roles)
	}
	if s := server(inv, "cm1"); !s.HasRole(provider.RoleCAPF) || s.Certificate(provider.RoleCAPF) == nil {
		t.Errorf("cm1 roles %v: CAPF should be enabled", s.Roles)
	}
	// The password matters: a wrong one is refused.
	bad, err := provider.NewClient(st[0].HTTPS, provider.Options{Username: "admin", Password: "wrong", CAFile: l.path(HQ, "ca.pem"), Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Cluster(ctx); !errors.Is(err, provider.ErrUnauthorized) {
		t.Errorf("wrong password: %v", err)
	}

	// A CTL on hq's nodes, then served over TFTP as phones fetch it (R4).
	first := pushFirstCTL(t, l)
	tr, err := provider.Open("tftp://"+st[2].TFTP, provider.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if data, _, err := tr.CTL(ctx); err != nil || !bytes.Equal(data, first) {
		t.Fatalf("TFTP from cm3: %d bytes, %v", len(data), err)
	}

	oldCM2 := server(inv, "cm2").Certificate(provider.RoleCCM).X509.Raw
	events := []struct {
		kind  string
		args  []string
		check func(t *testing.T)
	}{
		{"ip-change", []string{"cm2", "10.9.8.7"}, func(t *testing.T) {
			if ip := server(inventory(t, l, "cm1"), "cm2").IPv4; ip.String() != "10.9.8.7" {
				t.Errorf("cm2 reports %s", ip)
			}
		}},
		{"regen-cert", []string{"hq/cm2"}, func(t *testing.T) {
			if bytes.Equal(server(inventory(t, l, "cm3"), "cm2").Certificate(provider.RoleCCM).X509.Raw, oldCM2) {
				t.Error("cm2's certificate did not change")
			}
		}},
		{"rename", []string{"cm3", "tftp3"}, func(t *testing.T) {
			inv := inventory(t, l, "cm1")
			if s := server(inv, "tftp3"); s == nil || s.DNSName != "tftp3.hq.example.com" || server(inv, "cm3") != nil {
				t.Errorf("after rename: %v", names(inv))
			}
		}},
		{"add-node", []string{"hq"}, func(t *testing.T) {
			if n := names(inventory(t, l, "cm1")); !slices.Equal(n, []string{"cm1", "cm2", "cm4", "tftp3"}) {
				t.Errorf("after add-node: %v", n)
			}
			if len(inventory(t, l, "cm4").Servers) != 4 {
				t.Error("the new node does not see its cluster")
			}
		}},
		{"add-node", []string{"branch"}, func(t *testing.T) {
			if n := names(inventory(t, l, "br1")); !slices.Equal(n, []string{"br1", "br2"}) {
				t.Errorf("branch after add-node: %v", n)
			}
		}},
		{"remove-node", []string{"cm4"}, func(t *testing.T) {
			if n := names(inventory(t, l, "cm1")); !slices.Equal(n, []string{"cm1", "cm2", "tftp3"}) {
				t.Errorf("after remove-node: %v", n)
			}
			for _, s := range status(t, l) {
				if s.Name == "cm4" {
					t.Errorf("cm4 still listed: %+v", s)
				}
			}
		}},
		{"enable-capf", nil, func(t *testing.T) {
			if s := server(inventory(t, l, "br1"), "br1"); !s.HasRole(provider.RoleCAPF) {
				t.Errorf("br1 roles %v", s.Roles)
			}
		}},
		{"tamper", []string{"cm1"}, func(t *testing.T) {
			data := nodeCTL(t, l, "cm1")
			if bytes.Equal(data, first) || len(data) != len(first) {
				t.Fatal("cm1's CTL did not change by one byte")
			}
			f, err := ctl.Parse(data)
			if err != nil {
				t.Fatalf("tampered file should still parse: %v", err)
			}
			if f.Verify() == nil {
				t.Error("tampered file still verifies")
			}
			if !bytes.Equal(nodeCTL(t, l, "cm2"), first) {
				t.Error("tamper touched cm2")
			}
		}},
		{"manual-update", []string{"cm2"}, func(t *testing.T) {
			data := nodeCTL(t, l, "cm2")
			f, err := ctl.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Verify(); err != nil {
				t.Errorf("manual update does not verify: %v", err)
			}
			if f.Header.SignerName != "CN=SAST-"+TokenLabels[1]+";OU=IPCBU;O=ctlops lab" || bytes.Equal(data, first) {
				t.Errorf("manual update signed by %q", f.Header.SignerName)
			}
			if !bytes.Equal(nodeCTL(t, l, "tftp3"), first) {
				t.Error("manual update touched tftp3")
			}
		}},
	}
	for _, e := range events {
		t.Run(e.kind+"_"+strings.Join(e.args, "_"), func(t *testing.T) {
			msg, err := l.Event(ctx, e.kind, e.args)
			if err != nil {
				t.Fatalf("event: %v", err)
			}
			if msg == "" {
				t.Error("event said nothing")
			}
			e.check(t)
		})
	}

	// Refusals: each names what is wrong and changes nothing.
	for _, c := range []struct {
		kind string
		args []string
		want string
	}{
		{"reboot", nil, "unknown event"},
		{"ip-change", []string{"cm2"}, "takes NODE IP"},
		{"ip-change", []string{"cm9", "10.0.0.1"}, `no node "cm9"`},
		{"ip-change", []string{"cm2", "::1"}, "not an IPv4"},
		{"rename", []string{"cm2", "br1"}, "exists already"},
		{"rename", []string{"cm2", "Bad_Name"}, "not a host name"},
		{"remove-node", []string{"cm1"}, "publisher"},
		{"enable-capf", nil, "already enabled"},
		{"add-node", []string{"paris"}, `no cluster "paris"`},
	} {
		if _, err := l.Event(ctx, c.kind, c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("event %s %v: %v, want %q", c.kind, c.args, err, c.want)
		}
	}
	if _, err := l.Event(ctx, "reboot", nil); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown event: %v is not ErrUsage", err)
	}

	// Down: every process gone, not one left behind; twice is fine.
	before := status(t, l)
	msg, err := Down(l.Dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, fmt.Sprintf("stopped %d node(s)", len(before))) {
		t.Errorf("down said %q", msg)
	}
	for _, s := range before {
		if s.PID == 0 || procAlive(s.PID) {
			t.Errorf("%s/%s: pid %d alive after down", s.Cluster, s.Name, s.PID)
		}
	}
	if msg, err := Down(l.Dir, false); err != nil || !strings.Contains(msg, "was not running") {
		t.Errorf("second down: %q %v", msg, err)
	}
	for _, s := range status(t, l) {
		if s.PID != 0 {
			t.Errorf("status after down: %+v", s)
		}
	}

	// Up again: the same lab, its files kept.
	l2, err := Up(ctx, UpOptions{Dir: l.Dir, Provider: providerBin})
	if err != nil {
		t.Fatal(err)
	}
	if st := status(t, l2); Running(st) != 7 { // 5 nodes and metro's 2
		t.Errorf("after restart %d of %d running", Running(st), len(st))
	}
	if data := nodeCTL(t, l2, "tftp3"); !bytes.Equal(data, first) {
		t.Error("restart lost tftp3's CTL")
	}
	msg, err = Down(l.Dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) || !strings.Contains(msg, "deleted") {
		t.Errorf("down --purge: %q, dir: %v", msg, err)
	}
}

// TestLabSoftwareKeys: without SoftHSM2 the lab still works, with key files, and says so.
func TestLabSoftwareKeys(t *testing.T) {
	l := up(t, true)
	env := setEnv(t, l)
	if l.State.Tokens.Kind != "software" || env["SOFTHSM2_CONF"] != "" {
		t.Errorf("tokens %+v, env %v", l.State.Tokens, env)
	}
	cfg, _, err := spec.Load(l.path(SpecFile))
	if err != nil {
		t.Fatal(err)
	}
	sw := cfg.Cluster(HQ).SignWith
	if sw == nil || sw.Software == nil || sw.Software.Cert == nil {
		t.Fatalf("signWith %+v", sw)
	}
	s, err := l.Signer(context.Background(), TokenLabels[0])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Certificate().Equal(sw.Software.Cert) {
		t.Error("the signer is not the declared key")
	}
	if fi, err := os.Stat(l.path("tokens", TokenLabels[0]+".key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
}

func TestUpRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, fresh := range []bool{false, true} {
		_, err := Up(context.Background(), UpOptions{Dir: dir, Provider: providerBin, Fresh: fresh})
		if err == nil || !strings.Contains(err.Error(), "holds no lab") {
			t.Errorf("fresh=%v: %v", fresh, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the foreign file was touched: %q %v", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("up wrote into a foreign directory: %v", ents)
	}
}

func TestNoLab(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); !errors.Is(err, ErrNoLab) {
		t.Errorf("open: %v", err)
	}
	if msg, err := Down(dir, true); err != nil || !strings.Contains(msg, "no lab") {
		t.Errorf("down: %q %v", msg, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("down --purge removed a directory without a lab: %v", err)
	}
}

func TestFindProvider(t *testing.T) {
	if p, err := FindProvider(providerBin); err != nil || p != providerBin {
		t.Errorf("given: %q %v", p, err)
	}
	if _, err := FindProvider(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("a missing program was accepted")
	}
	t.Setenv("PATH", t.TempDir())
	// The test binary has no ctl-provider beside it, and PATH has none.
	if _, err := FindProvider(""); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("missing: %v", err)
	}
}

func TestEnvRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l := &Lab{Dir: dir}
	vals := map[string]string{"A": "plain", "B": "it's quoted", "C": "$HOME `x` \"y\""}
	var b strings.Builder
	for _, k := range []string{"A", "B", "C"} {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(vals[k]))
	}
	if err := os.WriteFile(filepath.Join(dir, EnvFile), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := l.Env()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	// And a shell reads it the same way.
	out, err := exec.Command("sh", "-c", ". "+filepath.Join(dir, EnvFile)+` && printf '%s\n' "$A" "$B" "$C"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != vals["A"]+"\n"+vals["B"]+"\n"+vals["C"]+"\n" {
		t.Errorf("sh read %q", out)
	}
}

// BenchmarkUpDown measures a whole `lab up` (clusters, keys, tokens, four node processes) and
// `lab down --purge`, with software keys so that the figure does not depend on SoftHSM2.
func BenchmarkUpDown(b *testing.B) {
	for _, software := range []bool{true, false} {
		name := "softhsm"
		if software {
			name = "software"
		} else if haveSoftHSM() != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(b.TempDir(), "lab")
				if _, err := Up(context.Background(), UpOptions{Dir: dir, Provider: providerBin, SoftwareKeys: software}); err != nil {
					b.Fatal(err)
				}
				if _, err := Down(dir, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStatus measures `lab status`: every node config read and every pid checked.
func BenchmarkStatus(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "lab")
	l, err := Up(context.Background(), UpOptions{Dir: dir, Provider: providerBin, SoftwareKeys: true})
	if err != nil {
		b.Fatal(err)
	}
	defer Down(dir, true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := l.Status()
		if err != nil || Running(st) != 6 {
			b.Fatal(err, st)
		}
	}
}
