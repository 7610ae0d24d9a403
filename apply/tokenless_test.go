package apply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
)

// The platform account of the simulated tokenless clusters (lab/cucmsim/cucmsimtest); like
// every secret it must appear in no output, error or audit line.
const simPassword = cucmsimtest.Password

// startCUCM starts a simulated tokenless cluster: mpub (CCM, TFTP, CAPF) and msub (CCM, TFTP).
func startCUCM(t *testing.T, release string, mixed bool) *cucmsim.Cluster {
	return cucmsimtest.Start(t, release, mixed)
}

// tokenlessYAML declares sim as cluster name in mode; hostKeys pins the given fingerprints
// (both nodes' when nil).
func tokenlessYAML(name, mode string, sim *cucmsim.Cluster, hostKeys []string) string {
	pub, sub := sim.Node("mpub"), sim.Node("msub")
	if hostKeys == nil {
		hostKeys = []string{pub.HostKey(), sub.HostKey()}
	}
	host, port, _ := strings.Cut(pub.SSHAddr(), ":")
	return fmt.Sprintf(`  - name: %s
    signing: tokenless
    mode: %s
    platform:
      host: %s
      port: %s
      hostKeys: [%s]
      credentials: {username: platformadmin, password: {env: CTLOPS_TEST_SIM_PW}}
      nodes:
        - {name: mpub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP, CAPF]}
        - {name: msub, ssh: "%s", tftp: "%s", roles: [CCM, TFTP]}
`, name, mode, host, port, strings.Join(hostKeys, ", "), pub.SSHAddr(), pub.TFTPAddr(), sub.SSHAddr(), sub.TFTPAddr())
}

// mixedSpec writes the lab's token clusters and then the tokenless ones (YAML items) into one
// spec.
func (l *lab) mixedSpec(tokenless []string, token ...cs) *spec.Config {
	l.t.Helper()
	path := filepath.Join(l.dir, "ctlops.yaml")
	b := []byte("version: 1\nclusters:\n")
	if len(token) > 0 {
		l.spec(token...)
		var err error
		if b, err = os.ReadFile(path); err != nil {
			l.t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, append(b, strings.Join(tokenless, "")...), 0o644); err != nil {
		l.t.Fatal(err)
	}
	cfg, _, err := spec.Load(path)
	if err != nil {
		l.t.Fatalf("spec: %v", err)
	}
	return cfg
}

// tlOpts are the options of an unattended apply with short SSH timings for the simulator.
// Only a spec with token clusters gets a signer: CUCM signs a tokenless CTL itself, so
// asking for a token (preview, check or open) is a failure of its own.
func (l *lab) tlOpts(cfg *spec.Config, restart bool) apply.Options {
	o := l.opts(cfg, "alice", nil)
	o.Out = nil
	o.RestartServices = restart
	o.Live.Platform = &platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second, Nudge: time.Second}
	tokenClusters := false
	for _, c := range cfg.Clusters {
		tokenClusters = tokenClusters || c.Signing != spec.SigningTokenless
	}
	if !tokenClusters {
		refuse := errors.New("a tokenless apply asked for a security token")
		o.OpenSigner = func(context.Context, apply.SignerRequest) (token.Signer, error) { return nil, refuse }
		o.CheckSigner = func(apply.SignerRequest) error { return refuse }
		o.PreviewSigner = func(context.Context, apply.SignerRequest) (string, error) { return "", refuse }
	}
	return o
}

func newTokenlessLab(t *testing.T) *lab {
	t.Setenv("CTLOPS_TEST_SIM_PW", simPassword)
	l := newLab(t, map[string]int{})
	t.Cleanup(func() {
		if strings.Contains(strings.Join(l.captured, "\n"), simPassword) {
			t.Error("the platform password appears in the output")
		}
		if b, _ := os.ReadFile(filepath.Join(l.dir, ".ctlops", "audit.jsonl")); bytes.Contains(b, []byte(simPassword)) {
			t.Error("the platform password appears in the audit log")
		}
	})
	return l
}

func (l *lab) tlPlan(cfg *spec.Config) *plan.Plan {
	l.t.Helper()
	o := live.Options{Timeout: 10 * time.Second, Parallelism: 4,
		Platform: &platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second, Nudge: time.Second}}
	p, err := live.Plan(context.Background(), cfg, nil, o, "test", time.Now())
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

func ctlCommands(sim *cucmsim.Cluster) []string {
	var out []string
	for _, c := range sim.Commands() {
		if strings.Contains(c, "utils ctl") {
			out = append(out, c)
		}
	}
	return out
}

func signerOf(t *testing.T, b []byte) tokenless.Signer {
	t.Helper()
	f, err := ctl.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tokenless.Recognize(f, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r.Signer
}

// TestTokenlessFirstMixedThenNoChange: a non-secure cluster declared mixed: apply runs
// set-cluster mixed-mode on the publisher, every node serves a CTL signed by ITLRecovery
// (12.5), the restarts run one node at a time publisher first, the audit log has an intent
// and a result line; then nothing is left to do.
func TestTokenlessFirstMixedThenNoChange(t *testing.T) {
	l := newTokenlessLab(t)
	sim := startCUCM(t, "12.5.1.11900-146", false)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
	res, text, err := l.run(l.tlOpts(cfg, true))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !sim.Mixed() {
		t.Fatalf("not mixed after apply:\n%s", text)
	}
	for _, n := range sim.Nodes() {
		if s := signerOf(t, n.CTL()); s != tokenless.SignerITLRecovery {
			t.Errorf("%s serves a CTL signed by %s", n.Name(), s)
		}
	}
	if got := strings.Join(sim.Restarts(), ","); got != "mpub Cisco Tftp,mpub Cisco CallManager,msub Cisco Tftp,msub Cisco CallManager" {
		t.Errorf("restarts %s", got)
	}
	if got := ctlCommands(sim); len(got) != 1 || !strings.Contains(got[0], "mpub: utils ctl set-cluster mixed-mode") {
		t.Errorf("CTL commands %q", got)
	}
	all := l.auditAll()
	if len(all) != 2 || all[0].Result != "intent" || all[1].Result != "applied" || all[1].PlanDigest != res.Plan.Digest() ||
		len(all[1].Details) != 1 || all[1].Details[0].Mode != "mixed" || len(all[1].Details[0].Targets) != 2 {
		t.Errorf("audit %+v", all)
	}
	for _, tg := range res.Clusters[0].Targets {
		if tg.Status != "updated" || tg.Before != "" || tg.Holds == "" {
			t.Errorf("target %+v", tg)
		}
	}
	if p := l.tlPlan(cfg); p.HasChanges() || p.Failed() {
		t.Fatalf("plan after apply: changes %v failed %v", p.HasChanges(), p.Failed())
	}
	res, text, err = l.run(l.tlOpts(cfg, false))
	if err != nil || !res.NoChanges {
		t.Fatalf("second apply: %v %+v\n%s", err, res, text)
	}
}

// TestTokenlessUpdateAfterRegen: a regenerated CallManager certificate on msub makes the
// plan call for update CTLFile naming msub; without --restart-services the restarts are
// printed as next steps and none runs; the next plan is empty.
func TestTokenlessUpdateAfterRegen(t *testing.T) {
	l := newTokenlessLab(t)
	sim := startCUCM(t, "12.5.1.11900-146", true)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	p := l.tlPlan(cfg)
	if c := p.Clusters[0]; c.Platform == nil || c.Platform.Command != plan.CommandUpdateCTL {
		t.Fatalf("plan: %+v", c.Platform)
	}
	_, text, err := l.run(l.tlOpts(cfg, false))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "utils service restart Cisco Tftp") || !strings.Contains(text, "Next steps") || len(sim.Restarts()) != 0 {
		t.Errorf("restarts %q, output:\n%s", sim.Restarts(), text)
	}
	if got := ctlCommands(sim); len(got) != 1 || !strings.Contains(got[0], "update CTLFile") {
		t.Errorf("CTL commands %q", got)
	}
	if p := l.tlPlan(cfg); p.HasChanges() {
		t.Fatal("still drift after apply")
	}
}

// TestTokenlessToNonSecure: mixed → non-secure runs set-cluster non-secure-mode.
func TestTokenlessToNonSecure(t *testing.T) {
	l := newTokenlessLab(t)
	sim := startCUCM(t, "12.5.1.11900-146", true)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "non-secure", sim, nil)})
	_, text, err := l.run(l.tlOpts(cfg, false))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if sim.Mixed() {
		t.Fatal("still mixed")
	}
	if got := ctlCommands(sim); len(got) != 1 || !strings.Contains(got[0], "set-cluster non-secure-mode") {
		t.Errorf("CTL commands %q", got)
	}
	if p := l.tlPlan(cfg); p.HasChanges() || p.Failed() {
		t.Fatal("changes left after non-secure")
	}
}

// TestTokenlessRefusals: each fault stops the apply before any CTL command or answers no
// prompt, with a clear error quoting what the server said.
func TestTokenlessRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*cucmsim.Cluster)
		keys   func(*cucmsim.Cluster) []string
		want   []string
		noSent bool // not even the command was typed
	}{
		{name: "subscriber down", setup: func(s *cucmsim.Cluster) { _ = s.SetDown("msub", true) }, want: []string{"msub", "R26"}, noSent: true},
		{name: "replication unhealthy", setup: func(s *cucmsim.Cluster) { s.SetReplication(false) }, want: []string{"replication is not healthy", "nothing was changed"}, noSent: true},
		{name: "unexpected prompt", setup: func(s *cucmsim.Cluster) { s.ScriptPrompt("This operation will delete all certificates.") },
			want: []string{"This operation will delete all certificates. Do you want to continue? (y/n):"}},
		{name: "unknown output", setup: func(s *cucmsim.Cluster) { s.ScriptAnswer("show ctl", "Segmentation fault \x1b]0;owned\x07") },
			want: []string{"Segmentation fault"}, noSent: true},
		{name: "wrong host key", keys: func(s *cucmsim.Cluster) []string { return []string{s.Node("msub").HostKey()} },
			want: []string{"mpub", "host key"}, noSent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newTokenlessLab(t)
			sim := startCUCM(t, "12.5.1.11900-146", false)
			var keys []string
			if tc.keys != nil {
				keys = tc.keys(sim)
			}
			cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, keys)})
			if tc.setup != nil {
				tc.setup(sim)
			}
			_, text, err := l.run(l.tlOpts(cfg, true))
			if err == nil {
				t.Fatalf("apply went on:\n%s", text)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "\x1b") || strings.Contains(text, "\x1b]") {
				t.Error("an escape sequence from the server reached the output")
			}
			if sim.Mixed() || len(sim.Restarts()) > 0 {
				t.Fatal("the cluster was changed")
			}
			if got := ctlCommands(sim); tc.noSent && len(got) > 0 {
				t.Errorf("CTL commands sent: %q", got)
			}
			if tc.name == "wrong host key" && sim.Node("mpub").PasswordsSeen() != 0 {
				t.Errorf("the publisher saw %d passwords before its host key was checked", sim.Node("mpub").PasswordsSeen())
			}
		})
	}
}

// TestTokenlessWrongPassword: a wrong platform password is sent once per node at most, the
// error says so, and nothing retries it (CUCM locks the account after 3).
func TestTokenlessWrongPassword(t *testing.T) {
	l := newTokenlessLab(t)
	sim := startCUCM(t, "12.5.1.11900-146", false)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
	t.Setenv("CTLOPS_TEST_SIM_PW", "Not-The-Pa55word")
	_, text, err := l.run(l.tlOpts(cfg, true))
	var le *platform.LoginError
	if err == nil || strings.Contains(err.Error(), "Not-The-Pa55word") || strings.Contains(text, "Not-The-Pa55word") {
		t.Fatalf("err %v\n%s", err, text)
	}
	_ = errors.As(err, &le)
	if n := sim.Node("mpub").PasswordsSeen(); n != 1 {
		t.Fatalf("the publisher saw %d passwords, want 1 (plan and apply must not both try)", n)
	}
	if sim.Node("mpub").Locked() {
		t.Fatal("account locked")
	}
}

// TestTokenlessReleases: a 10.5 cluster's CTL is signed by CallManager, a 14 cluster's by
// ITLRecovery, each through plan and apply, and the next plan is empty.
func TestTokenlessReleases(t *testing.T) {
	for _, c := range []struct {
		release string
		signer  tokenless.Signer
	}{{"10.5.2.15900-8", tokenless.SignerCallManager}, {"14.0.1.13900-155", tokenless.SignerITLRecovery}} {
		t.Run(c.release, func(t *testing.T) {
			l := newTokenlessLab(t)
			sim := startCUCM(t, c.release, false)
			cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)})
			p := l.tlPlan(cfg)
			if pp := p.Clusters[0].Platform; pp == nil || pp.Signer != string(c.signer) {
				t.Fatalf("plan platform %+v", pp)
			}
			if _, text, err := l.run(l.tlOpts(cfg, false)); err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if s := signerOf(t, sim.Node("msub").CTL()); s != c.signer {
				t.Fatalf("signer %s, want %s", s, c.signer)
			}
			if p := l.tlPlan(cfg); p.HasChanges() || p.Failed() {
				t.Fatal("drift after apply")
			}
		})
	}
}

// TestMixedSpecAndSavedPlan: one spec with a token cluster and a tokenless one; a saved plan
// of both is applied after the canonical comparison, and each kind is applied its way.
func TestMixedSpecAndSavedPlan(t *testing.T) {
	t.Setenv("CTLOPS_TEST_SIM_PW", simPassword)
	l := newLab(t, map[string]int{"hq": 2})
	sim := startCUCM(t, "12.5.1.11900-146", false)
	cfg := l.mixedSpec([]string{tokenlessYAML("metro", "mixed", sim, nil)}, hq("mixed", "alice", "bob"))
	path := filepath.Join(l.dir, "p.json")
	if err := l.tlPlan(cfg).Save(path); err != nil {
		t.Fatal(err)
	}
	o := l.tlOpts(cfg, false)
	o.PlanFile = path
	res, text, err := l.run(o)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	l.checkServed("hq", "alice")
	if !sim.Mixed() || signerOf(t, sim.Node("mpub").CTL()) != tokenless.SignerITLRecovery {
		t.Fatal("metro not mixed")
	}
	if len(res.Clusters) != 2 {
		t.Errorf("results %+v", res.Clusters)
	}
	var results []string
	for _, e := range l.auditLines() {
		results = append(results, e.Result+":"+strings.Join(e.Clusters, ","))
		if e.PlanFile != path {
			t.Errorf("audit line without the plan file: %+v", e)
		}
	}
	if strings.Join(results, " ") != "applied:hq applied:metro" {
		t.Errorf("audit results %q", results)
	}
	if p := l.tlPlan(cfg); p.HasChanges() || p.Failed() {
		t.Fatal("changes left")
	}
	// A saved plan made before an event is stale: the fresh plan is another plan.
	if err := l.tlPlan(cfg).Save(path); err != nil {
		t.Fatal(err)
	}
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	_, text, err = l.run(o)
	var se *apply.StaleError
	if !errors.As(err, &se) {
		t.Fatalf("stale saved plan applied: %v\n%s", err, text)
	}
	if got := ctlCommands(sim); len(got) != 1 {
		t.Errorf("CTL commands %q", got)
	}
}
