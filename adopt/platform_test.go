package adopt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

var simTimings = &platform.Config{StartupTimeout: 10 * time.Second, CommandTimeout: 10 * time.Second, Nudge: time.Second}

// platformOptions imports sim's publisher with both host keys confirmed and the password in
// the environment, as an admin would after checking the fingerprints.
func platformOptions(t *testing.T, sim *cucmsim.Cluster) Options {
	t.Helper()
	t.Setenv(cucmsimtest.PasswordEnv, cucmsimtest.Password)
	pub, sub := sim.Node("mpub"), sim.Node("msub")
	return Options{
		Sources:     []string{"ssh://" + cucmsimtest.User + "@" + pub.SSHAddr()},
		Out:         filepath.Join(t.TempDir(), "adopted"),
		PasswordEnv: cucmsimtest.PasswordEnv,
		HostKeys:    []string{pub.HostKey(), sub.HostKey()},
		NodeSSH:     []string{"msub=" + sub.SSHAddr()},
		NodeTFTP:    []string{"mpub=" + pub.TFTPAddr(), "msub=" + sub.TFTPAddr()},
		Platform:    simTimings,
		Timeout:     10 * time.Second,
	}
}

func tokenlessPlan(t *testing.T, dir string) *plan.Plan {
	t.Helper()
	cfg, _, err := spec.Load(dir)
	if err != nil {
		t.Fatalf("the imported spec does not load: %v", err)
	}
	p, err := live.Plan(context.Background(), cfg, nil, live.Options{Timeout: 10 * time.Second, Parallelism: 4, Platform: simTimings}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noChange is the round trip: the spec import wrote, planned against the same cluster,
// proposes nothing and refuses nothing.
func noChange(t *testing.T, dir string) {
	t.Helper()
	for _, c := range tokenlessPlan(t, dir).Clusters {
		if c.Error != "" || c.Summary.Changes || len(c.Refusals) > 0 || c.Platform == nil || c.Platform.Command != "" {
			t.Fatalf("plan after import of %s: %s, error %q, refusals %v, platform %+v", c.Name, c.SummaryLine(), c.Error, c.Refusals, c.Platform)
		}
	}
}

func readSpec(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, spec.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A mixed-mode tokenless cluster (12.5: ITLRecovery signs) is adopted as signing: tokenless
// with its two nodes, their roles read from the CTL, both host keys and the password by
// reference; plan then reports no change, and a regenerated certificate afterwards is seen.
func TestImportPlatformMixedRoundTrip(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	o := platformOptions(t, sim)
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Signing != spec.SigningTokenless || res.Mode != spec.ModeMixed || len(res.Nodes) != 2 || len(res.Tokens) != 0 {
		t.Fatalf("result = %+v", res)
	}
	want := map[string]string{"mpub": "CCM TFTP CAPF", "msub": "CCM TFTP"}
	for _, n := range res.Nodes {
		if got := strings.Join(n.Roles, " "); got != want[n.Name] {
			t.Errorf("node %s roles %q, want %q", n.Name, got, want[n.Name])
		}
	}
	y := readSpec(t, o.Out)
	for _, s := range []string{"signing: tokenless", "env: " + cucmsimtest.PasswordEnv, sim.Node("mpub").HostKey(), sim.Node("msub").HostKey(), "mode: mixed"} {
		if !strings.Contains(y, s) {
			t.Errorf("spec lacks %q:\n%s", s, y)
		}
	}
	if strings.Contains(y, cucmsimtest.Password) || strings.Contains(y, "tokens:") {
		t.Fatalf("the spec holds the password or tokens:\n%s", y)
	}
	noChange(t, o.Out)

	// Control: the same spec sees the cluster move.
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	p := tokenlessPlan(t, o.Out)
	if c := p.Clusters[0]; c.Platform == nil || c.Platform.Command != plan.CommandUpdateCTL {
		t.Fatalf("a regenerated certificate after import went unnoticed: %s", c.SummaryLine())
	}
}

// A cluster that never was mixed has no CTL to read roles from: they are guessed and said
// to be, and plan reports no change in non-secure mode.
func TestImportPlatformNonSecure(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", false)
	o := platformOptions(t, sim)
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != spec.ModeNonSecure || !strings.Contains(strings.Join(res.Notes, "\n"), "guessed") {
		t.Fatalf("result = %+v", res)
	}
	noChange(t, o.Out)
	// Control: declared mixed, the same cluster is a change (set-cluster mixed-mode).
	y := strings.Replace(readSpec(t, o.Out), "mode: non-secure", "mode: mixed", 1)
	if err := os.WriteFile(filepath.Join(o.Out, spec.DefaultFile), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := tokenlessPlan(t, o.Out).Clusters[0]; c.Platform == nil || c.Platform.Command != plan.CommandSetMixed {
		t.Fatalf("mixed against a non-secure cluster: %s", c.SummaryLine())
	}
}

// Without a confirmed host key import runs the key exchange only, names every key it saw and
// stops: no password reaches any node, nothing is written. The control is the same cluster
// imported with the keys, which does send the password.
func TestImportPlatformNeverTrustsOnFirstUse(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	o := platformOptions(t, sim)
	o.HostKeys = nil
	_, err := Import(context.Background(), o)
	var pend *HostKeyPending
	if !errors.As(err, &pend) || len(pend.Keys) != 2 {
		t.Fatalf("err = %v", err)
	}
	for i, n := range []string{"mpub", "msub"} {
		if pend.Keys[i].Fingerprint != sim.Node(n).HostKey() || !strings.Contains(err.Error(), sim.Node(n).HostKey()) {
			t.Errorf("key %d = %+v, want %s's %s", i, pend.Keys[i], n, sim.Node(n).HostKey())
		}
		if seen := sim.Node(n).PasswordsSeen(); seen != 0 {
			t.Errorf("%s received %d passwords before its key was confirmed", n, seen)
		}
	}
	if _, err := os.Stat(o.Out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something was written: %v", err)
	}

	// Only the publisher's key confirmed: msub's is shown, and msub gets no password.
	o.HostKeys = []string{sim.Node("mpub").HostKey()}
	_, err = Import(context.Background(), o)
	if !errors.As(err, &pend) || len(pend.Keys) != 1 || pend.Keys[0].Node != "msub" || pend.Keys[0].Fingerprint != sim.Node("msub").HostKey() {
		t.Fatalf("err = %v", err)
	}
	if seen := sim.Node("msub").PasswordsSeen(); seen != 0 {
		t.Fatalf("msub received %d passwords before its key was confirmed", seen)
	}

	// A wrong key for the publisher: refused before any password, the key it offers shown.
	before := sim.Node("mpub").PasswordsSeen()
	o.HostKeys = []string{sim.Node("msub").HostKey()}
	_, err = Import(context.Background(), o)
	if !errors.As(err, &pend) || len(pend.Keys) != 1 || pend.Keys[0].Fingerprint != sim.Node("mpub").HostKey() || sim.Node("mpub").PasswordsSeen() != before {
		t.Fatalf("err = %v, passwords %d → %d", err, before, sim.Node("mpub").PasswordsSeen())
	}

	// Control: with both keys the password is sent and the import succeeds.
	o.HostKeys = []string{sim.Node("mpub").HostKey(), sim.Node("msub").HostKey()}
	if _, err := Import(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if sim.Node("mpub").PasswordsSeen() == before || sim.Node("msub").PasswordsSeen() == 0 {
		t.Fatal("the control import sent no password: the zero counts above prove nothing")
	}
}

// The password from a file (named as {file:} in the spec) or from the prompt (named as the
// variable the admin must set); never the value.
func TestImportPlatformPasswordSources(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)

	o := platformOptions(t, sim)
	t.Setenv(cucmsimtest.PasswordEnv, "")
	pwFile := filepath.Join(t.TempDir(), "platform.pw")
	if err := os.WriteFile(pwFile, []byte(cucmsimtest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.PasswordFile = pwFile
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	y := readSpec(t, o.Out)
	if !strings.Contains(y, `file: "`+pwFile+`"`) || strings.Contains(y, cucmsimtest.Password) {
		t.Fatalf("spec:\n%s", y)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), spec.SecretDirsEnv) {
		t.Errorf("a password file outside the secret directories is not mentioned: %v", res.Notes)
	}

	o = platformOptions(t, sim)
	t.Setenv(cucmsimtest.PasswordEnv, "")
	asked := 0
	o.AskPassword = func(prompt string) (string, error) {
		asked++
		if !strings.Contains(prompt, cucmsimtest.User+"@") {
			t.Errorf("prompt %q", prompt)
		}
		return cucmsimtest.Password, nil
	}
	if _, err := Import(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if asked != 1 {
		t.Fatalf("asked %d times for the password, want once for every node", asked)
	}
	if y := readSpec(t, o.Out); !strings.Contains(y, "env: "+cucmsimtest.PasswordEnv) || strings.Contains(y, cucmsimtest.Password) {
		t.Fatalf("spec:\n%s", y)
	}

	// A wrong password: one attempt on the publisher, none on the subscriber, a clear error.
	o = platformOptions(t, sim)
	t.Setenv(cucmsimtest.PasswordEnv, "wrong-"+cucmsimtest.Password)
	pubBefore, subBefore := sim.Node("mpub").PasswordsSeen(), sim.Node("msub").PasswordsSeen()
	var le *platform.LoginError
	if _, err := Import(context.Background(), o); !errors.As(err, &le) || !strings.Contains(err.Error(), "not retried") {
		t.Fatalf("wrong password: %v", err)
	}
	if d := sim.Node("mpub").PasswordsSeen() - pubBefore; d != 1 || sim.Node("msub").PasswordsSeen() != subBefore {
		t.Fatalf("a wrong password was sent %d times to the publisher, %d to the subscriber", d, sim.Node("msub").PasswordsSeen()-subBefore)
	}

	// Neither: an error that names the ways, before any connection.
	o = platformOptions(t, sim)
	t.Setenv(cucmsimtest.PasswordEnv, "")
	conns := sim.Node("mpub").SSHConnections()
	if _, err := Import(context.Background(), o); err == nil || !strings.Contains(err.Error(), "--password-file") {
		t.Fatalf("err = %v", err)
	}
	if d := sim.Node("mpub").SSHConnections() - conns; d != 0 {
		t.Fatalf("no password: %d connections to the publisher, want none", d)
	}
}

// A release-10.5 cluster (CallManager signs; ITLRecovery is a second SAST) round-trips too,
// here with the legacy algorithms offered (and written into the spec).
func TestImportPlatformRelease105(t *testing.T) {
	sim := cucmsimtest.Start(t, "10.5.2.15900-8", true)
	o := platformOptions(t, sim)
	o.LegacyAlgorithms = true
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Release, "10.5") || !strings.Contains(readSpec(t, o.Out), "legacyAlgorithms: true") {
		t.Fatalf("release %q, spec:\n%s", res.Release, readSpec(t, o.Out))
	}
	noChange(t, o.Out)
}

func TestParsePlatformSource(t *testing.T) {
	for in, want := range map[string]string{
		"ssh://admin@cucm-pub.example.com": "ssh://cucm-pub.example.com:22",
		"ssh://admin@10.0.0.1:2222/":       "ssh://10.0.0.1:2222",
		"ssh://a@b@[2001:db8::1]:22":       "ssh://[2001:db8::1]:22",
		"ssh://cucm-pub":                   "ssh://cucm-pub:22",
	} {
		s, err := parseSource(in)
		if err != nil || s.open != want || !s.ssh {
			t.Errorf("%s: %+v, %v; want %s", in, s, err, want)
		}
	}
	for _, bad := range []string{"ssh://@host", "ssh://admin@", "ssh://admin@host:0", "ssh://admin@bad_host!"} {
		if _, err := parseSource(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if _, err := Import(context.Background(), Options{Out: t.TempDir(), Sources: []string{"ssh://a@h", "tftp://h"}}); err == nil || !strings.Contains(err.Error(), "alone") {
		t.Errorf("ssh:// with another source: %v", err)
	}
}
