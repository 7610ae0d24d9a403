package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/spec"
)

// metroRead reads metro as the spec of the lab declares it, through cucm/adapter (the
// plan/apply wiring is tested in test/metro_test.go), and compares it with mixed mode.
func metroRead(t *testing.T, l *Lab) (*adapter.State, *adapter.Check) {
	t.Helper()
	st := metroReadOnly(t, l)
	c, err := adapter.Evaluate(st, true, time.Now(), spec.DefaultExpiryWarning)
	if err != nil {
		t.Fatalf("evaluating metro: %v", err)
	}
	return st, c
}

// metroReadOnly is the read alone (a node not declared in the spec cannot be evaluated).
func metroReadOnly(t *testing.T, l *Lab) *adapter.State {
	t.Helper()
	tg := metroCluster(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := adapter.NewPool(tg)
	defer p.Close()
	st, err := adapter.Read(ctx, p)
	if err != nil {
		t.Fatalf("reading metro: %v", err)
	}
	return st
}

func metroCluster(t *testing.T, l *Lab) *adapter.Cluster {
	t.Helper()
	cfg, _, err := spec.Load(l.path(SpecFile))
	if err != nil {
		t.Fatalf("spec: %v", err)
	}
	sc := cfg.Cluster(Metro)
	if sc == nil || sc.Signing != spec.SigningTokenless || sc.Mode != spec.ModeMixed {
		t.Fatalf("spec: metro is %+v, want a tokenless cluster declared mixed", sc)
	}
	tg, err := live.PlatformCluster(sc, 2)
	if err != nil {
		t.Fatal(err)
	}
	tg.SSH = platform.Config{StartupTimeout: 20 * time.Second, CommandTimeout: 20 * time.Second}
	return tg
}

func metroStatus(t *testing.T, l *Lab) map[string]NodeStatus {
	t.Helper()
	out := map[string]NodeStatus{}
	for _, s := range status(t, l) {
		if s.Cluster == Metro {
			out[s.Name] = s
		}
	}
	return out
}

func nodeDiffers(c *adapter.Check, node string) bool {
	for _, n := range c.Nodes {
		if n.Node == node && (n.Err != nil || len(n.Differences) > 0) {
			return true
		}
	}
	return false
}

// TestMetro: lab up adds metro (mpub, msub) non-secure, reachable through the platform CLI
// and TFTP only; mixed mode through the CLI makes every node serve a CTL signed by the
// ITLRecovery record; regen-cert metro/msub is drift on msub; everything survives lab down
// and up; and each lab event changes what the simulator reports.
func TestMetro(t *testing.T) {
	l := up(t, true)
	setEnv(t, l)
	ctx := context.Background()

	ms := metroStatus(t, l)
	if len(ms) != 2 || !slices.Equal(ms["mpub"].Roles, []string{"CCM", "TFTP", "CAPF"}) || !slices.Equal(ms["msub"].Roles, []string{"CCM", "TFTP"}) {
		t.Fatalf("metro status %+v", ms)
	}
	for _, s := range ms {
		for _, a := range []string{s.SSH, s.TFTP} {
			if h, _, err := net.SplitHostPort(a); err != nil || h != "127.0.0.1" {
				t.Errorf("%s: address %q is not on 127.0.0.1", s.Name, a)
			}
		}
		if s.HTTPS != "" || !procAlive(s.PID) || s.PID != ms["mpub"].PID {
			t.Errorf("%s: https %q, pid %d (one simulator process serves both)", s.Name, s.HTTPS, s.PID)
		}
	}
	var buf bytes.Buffer
	if err := WriteStatusJSON(&buf, status(t, l)); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	for _, n := range list {
		if n["cluster"] != Metro {
			continue
		}
		var keys []string
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, []string{"cluster", "name", "pid", "roles", "serviceability", "ssh", "tftp"}) {
			t.Errorf("metro status JSON keys %v", keys)
		}
	}

	// Non-secure at first, declared mixed: the command is set-cluster mixed-mode.
	_, c := metroRead(t, l)
	if c.Action != platform.SetMixedMode {
		t.Fatalf("first check: action %q, want set-cluster mixed-mode", c.Action)
	}
	tg := metroCluster(t, l)
	p := adapter.NewPool(tg)
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	res, err := adapter.Apply(actx, p, adapter.ApplyOptions{WantMixed: true, RestartServices: true})
	cancel()
	p.Close()
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if res.Action != platform.SetMixedMode || res.After == nil || res.After.Drifted() {
		t.Fatalf("apply: action %q, after %+v", res.Action, res.After)
	}
	st, c := metroRead(t, l)
	if c.Drifted() {
		t.Fatalf("after apply: drift %+v", c.Nodes)
	}
	var pubCTL []byte
	for _, n := range st.Nodes {
		f, err := ctl.Parse(n.CTL)
		if err != nil {
			t.Fatalf("%s serves no CTL: %v", n.Name, err)
		}
		if err := f.Verify(); err != nil {
			t.Errorf("%s: CTL does not verify: %v", n.Name, err)
		}
		i := f.SignerRecord()
		if i < 0 || !strings.HasPrefix(f.Records[i].SubjectName, "CN=ITLRECOVERY_mpub") {
			t.Errorf("%s: CTL signed by record %d, want mpub's ITLRecovery", n.Name, i)
		}
		if n.Name == "mpub" {
			pubCTL = n.CTL
		}
	}

	// regen-cert metro/msub: msub differs, update CTLFile is due.
	msg, err := l.Event(ctx, "regen-cert", []string{"metro/msub"})
	if err != nil || !strings.Contains(msg, "metro/msub has a new CallManager certificate") {
		t.Fatalf("regen-cert: %q %v", msg, err)
	}
	if _, c = metroRead(t, l); c.Action != platform.UpdateCTLFile || !nodeDiffers(c, "msub") {
		t.Fatalf("after regen-cert: action %q, nodes %+v", c.Action, c.Nodes)
	}

	// lab down stops the simulator; lab up finds metro as it was: mixed, the same CTL, the
	// same host keys (the spec's pins still hold), msub's new certificate still unlisted.
	pid := ms["mpub"].PID
	if _, err := Down(l.Dir, false); err != nil {
		t.Fatal(err)
	}
	if procAlive(pid) {
		t.Fatalf("the metro simulator (pid %d) outlived lab down", pid)
	}
	if ms := metroStatus(t, l); ms["mpub"].PID != 0 {
		t.Errorf("status after down: pid %d", ms["mpub"].PID)
	}
	l2, err := Up(ctx, UpOptions{Dir: l.Dir, Provider: providerBin})
	if err != nil {
		t.Fatal(err)
	}
	st, c = metroRead(t, l2)
	if c.Action != platform.UpdateCTLFile || !nodeDiffers(c, "msub") || !st.Mixed || !bytes.Equal(st.Node("mpub").CTL, pubCTL) {
		t.Fatalf("after down/up: action %q, mixed %v, same CTL %v", c.Action, st.Mixed, bytes.Equal(st.Node("mpub").CTL, pubCTL))
	}

	// The other events, each seen through the CLI or TFTP.
	if _, err := l2.Event(ctx, "ip-change", []string{"msub", "10.30.0.99"}); err != nil {
		t.Fatal(err)
	}
	if st, _ = metroRead(t, l2); st.Network == nil || !slices.ContainsFunc(st.Network.Nodes, func(n platform.ClusterNode) bool { return n.Host == "msub" && n.IP == "10.30.0.99" }) {
		t.Errorf("ip-change: show network cluster %+v", st.Network)
	}
	if _, err := l2.Event(ctx, "tamper", []string{"metro/mpub"}); err != nil {
		t.Fatal(err)
	}
	if st, _ = metroRead(t, l2); bytes.Equal(st.Node("mpub").CTL, pubCTL) {
		t.Error("tamper: mpub serves the same CTL")
	}
	msg, err = l2.Event(ctx, "add-node", []string{Metro})
	if err != nil || !strings.Contains(msg, "msub2") {
		t.Fatalf("add-node: %q %v", msg, err)
	}
	ms = metroStatus(t, l2)
	if n, ok := ms["msub2"]; !ok || n.SSH == ms["msub"].SSH || n.TFTP == ms["msub"].TFTP || !procAlive(n.PID) {
		t.Errorf("add-node: status %+v", ms)
	}
	if st = metroReadOnly(t, l2); st.Node("msub2") == nil {
		t.Error("add-node: show network cluster does not list msub2")
	}
	if _, err := l2.Event(ctx, "remove-node", []string{"msub2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Event(ctx, "rename", []string{"metro/msub", "msub7"}); err != nil {
		t.Fatal(err)
	}
	ms = metroStatus(t, l2)
	if _, ok := ms["msub2"]; ok || len(ms) != 2 || ms["msub7"].Name != "msub7" {
		t.Errorf("remove-node, rename: status %+v", ms)
	}

	// Refusals: a name another cluster has, the publisher, events metro has no use for.
	for _, ev := range []struct {
		kind string
		args []string
		want string
	}{
		{"rename", []string{"mpub", "cm1"}, "exists already"},
		{"remove-node", []string{"metro/mpub"}, "publisher"},
		{"enable-capf", []string{Metro}, "CAPF already"},
		{"manual-update", []string{"mpub"}, "tokenless"},
		{"regen-cert", []string{"metro/nosuch"}, "nosuch"},
	} {
		if _, err := l2.Event(ctx, ev.kind, ev.args); err == nil || !strings.Contains(err.Error(), ev.want) {
			t.Errorf("%s %v: %v, want an error saying %q", ev.kind, ev.args, err, ev.want)
		}
	}
}
