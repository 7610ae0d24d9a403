package adopt

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ctlops/ctlops/lab/cucmsim"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/plan"
)

// A subscriber that runs CallManager but not TFTP: its role comes from the CTL (a CCM
// record), the spec gives it no tftp address, and plan reports no change.
func TestImportPlatformRolesFromCTL(t *testing.T) {
	sim := cucmsimtest.StartNodes(t, "12.5.1.11900-146", true,
		cucmsim.NodeSpec{Name: "mpub", IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
		cucmsim.NodeSpec{Name: "msub", IP: netip.MustParseAddr("10.30.0.2"), CallManager: true})
	o := platformOptions(t, sim)
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range res.Nodes {
		got[n.Name] = strings.Join(n.Roles, " ") + "|" + n.TFTP
	}
	if got["mpub"] != "CCM TFTP CAPF|"+sim.Node("mpub").TFTPAddr() || got["msub"] != "CCM|" {
		t.Fatalf("roles %v", got)
	}
	noChange(t, o.Out)
}

// A cluster that drifted before the import (a certificate regenerated, no update CTLFile
// since) is not made to look current: import says so, and plan proposes the update.
func TestImportPlatformAlreadyDrifted(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	o := platformOptions(t, sim)
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "already differs") {
		t.Fatalf("notes %q", res.Notes)
	}
	if c := tokenlessPlan(t, o.Out).Clusters[0]; c.Platform == nil || c.Platform.Command != plan.CommandUpdateCTL {
		t.Fatalf("plan: %s", c.SummaryLine())
	}
}

// hostKeyOf is the public key a node offers, read for the test's known_hosts file.
func hostKeyOf(t *testing.T, addr string) ssh.PublicKey {
	t.Helper()
	var got ssh.PublicKey
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _, _, _ = ssh.NewClientConn(conn, addr, &ssh.ClientConfig{HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
		got = k
		return os.ErrClosed
	}})
	if got == nil {
		t.Fatal("no host key")
	}
	return got
}

// Host keys confirmed by a known_hosts file: the spec names the file and pins no key; a file
// without msub's key stops the import before msub gets the password.
func TestImportPlatformKnownHosts(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	o := platformOptions(t, sim)
	o.HostKeys = nil
	kh := filepath.Join(t.TempDir(), "known_hosts")
	pub, sub := sim.Node("mpub").SSHAddr(), sim.Node("msub").SSHAddr()
	line := func(addr string) string {
		return knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKeyOf(t, addr)) + "\n"
	}
	if err := os.WriteFile(kh, []byte(line(pub)), 0o600); err != nil {
		t.Fatal(err)
	}
	o.KnownHosts = kh
	_, err := Import(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), sim.Node("msub").HostKey()) || sim.Node("msub").PasswordsSeen() != 0 {
		t.Fatalf("known_hosts without msub: %v (msub saw %d passwords)", err, sim.Node("msub").PasswordsSeen())
	}
	if err := os.WriteFile(kh, []byte(line(pub)+line(sub)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	y := readSpec(t, o.Out)
	if !strings.Contains(y, `knownHosts: "`+kh+`"`) || strings.Contains(y, "hostKeys") {
		t.Fatalf("spec:\n%s", y)
	}
	noChange(t, o.Out)
}

// A subscriber that is down: import refuses (R26) naming it and writes nothing; the same
// import succeeds once the node is back (the control).
func TestImportPlatformNodeDown(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	if err := sim.SetDown("msub", true); err != nil {
		t.Fatal(err)
	}
	o := platformOptions(t, sim)
	_, err := Import(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "msub") || !strings.Contains(err.Error(), "R26") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(o.Out); err == nil {
		t.Fatal("an import that failed wrote something")
	}
	if err := sim.SetDown("msub", false); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

// One import logs into each node once: the publisher's login that lists the nodes is the one
// the adapter's read goes on with, not a second (each login counts towards CUCM's lockout).
// With the publisher's key pinned, that login is also its only connection: the login checks
// the key, no probe comes first. The subscriber's key is checked by a probe before the
// publisher's password reaches it, as its address comes from the publisher.
func TestImportPlatformLogsInOnce(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	if _, err := Import(context.Background(), platformOptions(t, sim)); err != nil {
		t.Fatal(err)
	}
	for n, conns := range map[string]int{"mpub": 1, "msub": 2} {
		if seen := sim.Node(n).PasswordsSeen(); seen != 1 {
			t.Errorf("%s: %d logins for one import, want 1", n, seen)
		}
		if got := sim.Node(n).SSHConnections(); got != conns {
			t.Errorf("%s: %d SSH connections for one import, want %d", n, got, conns)
		}
	}
}

// The publisher's connections as an admin confirms its key: the first import, with no key
// confirmed, only probes it (one connection, no password); the import with the key it showed
// logs in on one connection. A pinned key the publisher does not offer ends that one
// connection's key exchange, with no password sent and the key it offers shown.
func TestImportPlatformPublisherConnections(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	pub := sim.Node("mpub")
	step := func(name string, keys []string, wantConns, wantPasswords int) error {
		t.Helper()
		o := platformOptions(t, sim)
		o.HostKeys = keys
		conns, pws := pub.SSHConnections(), pub.PasswordsSeen()
		_, err := Import(context.Background(), o)
		if d := pub.SSHConnections() - conns; d != wantConns {
			t.Errorf("%s: %d connections to the publisher, want %d", name, d, wantConns)
		}
		if d := pub.PasswordsSeen() - pws; d != wantPasswords {
			t.Errorf("%s: %d passwords sent to the publisher, want %d", name, d, wantPasswords)
		}
		return err
	}
	var pend *HostKeyPending
	err := step("nothing confirmed (control: the probe)", nil, 1, 0)
	if !errors.As(err, &pend) || pend.Keys[0].Fingerprint != pub.HostKey() {
		t.Fatalf("nothing confirmed: %v", err)
	}
	if err := step("the keys shown, confirmed", []string{pend.Keys[0].Fingerprint, pend.Keys[1].Fingerprint}, 1, 1); err != nil {
		t.Fatal(err)
	}
	err = step("a pinned key the publisher does not offer", []string{sim.Node("msub").HostKey()}, 1, 0)
	if !errors.As(err, &pend) || len(pend.Keys) != 1 || pend.Keys[0].Node != "publisher" || pend.Keys[0].Fingerprint != pub.HostKey() ||
		!strings.Contains(err.Error(), "Nothing was sent") {
		t.Fatalf("wrong key: %v", err)
	}
}

// An IM and Presence node (`cups` in `show network cluster`) holds no CTL: import leaves it
// out of the spec and says so, never reaches it (no host key to confirm, no password), and
// plan passes over it. Pointing --node-ssh at it is refused rather than ignored.
func TestImportPlatformLeavesOutIMAndPresence(t *testing.T) {
	sim := cucmsimtest.StartNodes(t, "12.5.1.11900-146", true,
		cucmsim.NodeSpec{Name: "mpub", IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
		cucmsim.NodeSpec{Name: "msub", IP: netip.MustParseAddr("10.30.0.2"), CallManager: true, TFTP: true},
		cucmsim.NodeSpec{Name: "mimp", IP: netip.MustParseAddr("10.30.0.3"), IMAndPresence: true})
	o := platformOptions(t, sim)
	res, err := Import(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range res.Nodes {
		names = append(names, n.Name)
	}
	if strings.Join(names, " ") != "mpub msub" {
		t.Fatalf("nodes %v, want mpub msub", names)
	}
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "left out of the spec: mimp, IM and Presence") {
		t.Errorf("no note about mimp:\n%s", notes)
	}
	y := readSpec(t, o.Out)
	if strings.Contains(y, "name: mimp") || !strings.Contains(y, "# Not declared: the IM and Presence nodes mimp") {
		t.Errorf("spec:\n%s", y)
	}
	if n := sim.Node("mimp").PasswordsSeen(); n != 0 {
		t.Errorf("mimp received %d passwords", n)
	}
	noChange(t, o.Out)

	o.NodeSSH = append(o.NodeSSH, "mimp="+sim.Node("mimp").SSHAddr())
	o.Out = filepath.Join(t.TempDir(), "again")
	if _, err := Import(context.Background(), o); err == nil || !strings.Contains(err.Error(), "mimp, an IM and Presence node") {
		t.Errorf("--node-ssh mimp=…: %v", err)
	}
}
