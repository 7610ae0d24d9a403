package test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/ctl"
)

// platformNode is a metro line of `lab status --format json`: the platform CLI's address
// instead of a CTL Provider's.
type platformNode struct {
	Cluster string   `json:"cluster"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	SSH     string   `json:"ssh"`
	TFTP    string   `json:"tftp"`
	PID     int      `json:"pid"`
	// Serviceability is host:port of its Control Center, RisPort70 and AXL (issue 16).
	Serviceability string `json:"serviceability"`
}

func (s *session) metroNodes() []platformNode {
	s.t.Helper()
	r := s.run(0, "lab", "status", "--dir", s.lab, "--format", "json")
	var all []platformNode
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		s.t.Fatalf("lab status: %v\n%s", err, r.stdout)
	}
	var out []platformNode
	for _, n := range all {
		if n.Cluster == "metro" {
			out = append(out, n)
		}
	}
	return out
}

// metroCTLs fetches CTLFile.tlv from every metro node with tftp-hpa, checks each with openssl
// and that it is signed by the ITLRecovery record, a SAST record of the file, and that every
// node serves the same file; it returns that file.
func (s *session) metroCTLs(nodes []platformNode) *ctl.File {
	s.t.Helper()
	var first []byte
	for _, n := range nodes {
		data := s.fetchTFTP(n.TFTP)
		if signer := verifyWithOpenSSL(s.t, data); !strings.Contains(signer, "ITLRECOVERY_mpub") {
			s.t.Errorf("%s serves a CTL signed by %q, want mpub's ITLRecovery certificate", n.Name, signer)
		}
		f, err := ctl.Parse(data)
		if err != nil {
			s.t.Fatalf("%s: %v", n.Name, err)
		}
		i := f.SignerRecord()
		if i < 0 || f.Records[i].Role != ctl.RoleSAST || !strings.Contains(f.Records[i].SubjectName, "ITLRECOVERY_mpub") {
			s.t.Errorf("%s: the signer is record %d, not the ITLRecovery SAST record", n.Name, i)
		}
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			s.t.Errorf("%s serves another CTL than %s", n.Name, nodes[0].Name)
		}
	}
	f, _ := ctl.Parse(first)
	return f
}

// clusterPhones is the phones of one cluster; there must be n.
func (s *session) clusterPhones(cluster string, n int) []labPhone {
	s.t.Helper()
	var out []labPhone
	for _, p := range s.phones() {
		if p.Cluster == cluster {
			out = append(out, p)
		}
	}
	if len(out) != n {
		s.t.Fatalf("%d phones on %s, want %d", len(out), cluster, n)
	}
	return out
}

// checkMetroPhones: every metro phone registered over TLS with the CTL its TFTP server serves
// (checkPhones), which is the file metro's own TFTP service (the simulator's, fetched with
// tftp-hpa) serves. It returns how many phones each node has.
func (s *session) checkMetroPhones(when string, nodes []platformNode) map[string]int {
	s.t.Helper()
	s.checkPhones("metro", when)
	sum := sha256.Sum256(s.fetchTFTP(nodes[0].TFTP))
	onNode := map[string]int{}
	for _, p := range s.clusterPhones("metro", 2) {
		if deref(p.CTLSHA256) != hex.EncodeToString(sum[:]) {
			s.t.Errorf("%s, %s holds CTL %s, metro's TFTP serves %x", when, p.Name, deref(p.CTLSHA256), sum)
		}
		onNode[deref(p.Node)]++
	}
	return onNode
}

func recordCert(f *ctl.File, role ctl.Role, name string) []byte {
	for _, r := range f.Records {
		if r.Role == role && r.DNSName == name {
			return r.Certificate
		}
	}
	return nil
}

// TestMetroDoneWhen is issue 14's "Done when" with the built binaries: lab up; plan --cluster
// metro proposes mixed mode (exit 2); apply runs the platform CLI and every metro node serves
// a CTL signed by its ITLRecovery record; regen-cert metro/msub makes drift exit 2 naming
// msub; apply clears it.
func TestMetroDoneWhen(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	nodes := s.metroNodes()
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
		for _, a := range []string{n.SSH, n.TFTP} {
			if h, _, err := net.SplitHostPort(a); err != nil || h != "127.0.0.1" {
				t.Errorf("metro/%s: address %q is not on 127.0.0.1", n.Name, a)
			}
		}
		if n.PID == 0 {
			t.Errorf("metro/%s is not running", n.Name)
		}
	}
	if !slices.Equal(names, []string{"mpub", "msub"}) || !slices.Equal(nodes[0].Roles, []string{"CCM", "TFTP", "CAPF"}) {
		t.Fatalf("metro nodes %+v", nodes)
	}

	// Issue 15 on metro: its phones boot from its TFTP service with no CTL there (P4) and
	// register, not over TLS.
	for _, p := range s.clusterPhones("metro", 2) {
		if !p.Registered || p.Secure || p.CTLSHA256 != nil {
			t.Errorf("before apply, %s: registered=%v secure=%v ctl=%s status=%q", p.Name, p.Registered, p.Secure, deref(p.CTLSHA256), p.Status)
		}
	}

	r := s.run(2, "plan", "-f", s.spec(), "--cluster", "metro", "--detailed-exitcode")
	if !strings.Contains(r.stdout, "non-secure → mixed") || !strings.Contains(r.stdout, "utils ctl set-cluster mixed-mode on mpub") {
		t.Fatalf("first plan does not propose mixed mode through the CLI:\n%s", r.stdout)
	}
	r = s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve")
	if !strings.Contains(r.stdout, "utils ctl set-cluster mixed-mode on mpub") {
		t.Errorf("apply did not say it ran the CLI command:\n%s", r.stdout)
	}
	before := s.metroCTLs(nodes)
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "metro")
	s.checkMetroPhones("after apply and reset", nodes)
	s.run(0, "drift", "-f", s.spec(), "--cluster", "metro")
	s.run(0, "plan", "-f", s.spec(), "--cluster", "metro", "--detailed-exitcode")

	r = s.run(0, "lab", "event", "--dir", s.lab, "regen-cert", "metro/msub")
	if !strings.Contains(r.stdout, "metro/msub has a new CallManager certificate") {
		t.Errorf("event said: %s", r.stdout)
	}
	// Until the CTL holds msub's new certificate, no phone trusts msub over TLS (P42): they
	// register with mpub.
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "metro")
	for _, p := range s.clusterPhones("metro", 2) {
		if deref(p.Node) == "msub" || !p.Registered || !p.Secure {
			t.Errorf("after regen-cert msub and before apply, %s: registered=%v secure=%v node=%s: msub's new certificate is in no installed CTL (P42)", p.Name, p.Registered, p.Secure, deref(p.Node))
		}
	}
	r = s.run(2, "drift", "-f", s.spec())
	if out := r.stdout + r.stderr; !strings.Contains(out, "metro: DRIFT") || !strings.Contains(out, "CCM+TFTP msub") {
		t.Errorf("drift does not name msub:\n%s", out)
	}
	r = s.run(2, "drift", "-f", s.spec(), "--cluster", "metro")
	if !strings.Contains(r.stdout, "CCM+TFTP msub") || strings.Contains(r.stdout, "CCM+TFTP mpub") {
		t.Errorf("drift of metro names another record than msub's:\n%s", r.stdout)
	}
	r = s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve")
	if !strings.Contains(r.stdout, "utils ctl update CTLFile on mpub") {
		t.Errorf("apply after regen-cert did not run update CTLFile:\n%s", r.stdout)
	}
	s.run(0, "drift", "-f", s.spec(), "--cluster", "metro")
	after := s.metroCTLs(nodes)
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "metro")
	if got := s.checkMetroPhones("after regen-cert, apply and reset", nodes); got["msub"] == 0 {
		t.Errorf("no metro phone registered with msub after the apply: %v", got)
	}
	if bytes.Equal(recordCert(before, ctl.RoleCCMTFTP, "msub"), recordCert(after, ctl.RoleCCMTFTP, "msub")) {
		t.Error("the CTL still lists msub's old certificate")
	}
	if !bytes.Equal(recordCert(before, ctl.RoleCCMTFTP, "mpub"), recordCert(after, ctl.RoleCCMTFTP, "mpub")) {
		t.Error("mpub's record changed although its certificate did not")
	}
}

// TestMetroEvents: every lab event on metro is drift that names what changed, and (after the
// admin declares what the spec must know: a new node with its host key, a new name) an apply
// that runs `utils ctl update CTLFile` clears it.
func TestMetroEvents(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve")
	declared, err := os.ReadFile(s.spec())
	if err != nil {
		t.Fatal(err)
	}
	fix := func(why string) {
		t.Helper()
		r := s.run(2, "plan", "-f", s.spec(), "--cluster", "metro", "--detailed-exitcode")
		if !strings.Contains(r.stdout, "utils ctl update CTLFile on mpub") {
			t.Errorf("%s: the plan does not run update CTLFile:\n%s", why, r.stdout)
		}
		s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve")
		s.run(0, "drift", "-f", s.spec(), "--cluster", "metro")
	}
	drift := func(why string, want ...string) {
		t.Helper()
		r := s.run(2, "drift", "-f", s.spec(), "--cluster", "metro")
		for _, w := range want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%s: drift does not say %q:\n%s", why, w, r.stdout)
			}
		}
	}
	writeSpec := func(b []byte) {
		t.Helper()
		if err := os.WriteFile(s.spec(), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	s.run(0, "lab", "event", "--dir", s.lab, "ip-change", "msub", "10.30.0.77")
	drift("ip-change", "CCM+TFTP msub: IP 10.30.0.2 → 10.30.0.77")
	fix("ip-change")

	s.run(0, "lab", "event", "--dir", s.lab, "tamper", "metro/msub")
	drift("tamper", "server msub holds a CTL that fails its own check")
	fix("tamper")

	// A new node is refused until it is declared with its host key; then the CTL lists it.
	r := s.run(0, "lab", "event", "--dir", s.lab, "add-node", "metro")
	m := regexp.MustCompile(`host key (SHA256:[A-Za-z0-9+/]+=?)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("add-node does not print the host key: %s", r.stdout)
	}
	drift("add-node", "node msub2", "not declared")
	var added platformNode
	for _, n := range s.metroNodes() {
		if n.Name == "msub2" {
			added = n
		}
	}
	if added.SSH == "" || added.TFTP == "" {
		t.Fatalf("lab status does not list msub2: %+v", s.metroNodes())
	}
	withNode := strings.Replace(string(declared), "]\n      credentials:", ", "+m[1]+"]\n      credentials:", 1)
	// The node goes at the end of platform.nodes, which metro's serviceability block follows.
	at := strings.LastIndex(withNode, "    serviceability:")
	if at < 0 {
		t.Fatalf("the lab's spec declares no serviceability for metro:\n%s", withNode)
	}
	withNode = withNode[:at] + fmt.Sprintf("        - {name: msub2, ssh: %q, tftp: %q, roles: [CCM, TFTP]}\n", added.SSH, added.TFTP) + withNode[at:]
	writeSpec([]byte(withNode))
	fix("add-node")
	if f := s.metroCTLs(s.metroNodes()); recordCert(f, ctl.RoleCCMTFTP, "msub2") == nil {
		t.Error("the CTL does not list msub2")
	}

	// A removed node: declared but gone until the spec forgets it; then the CTL drops it.
	s.run(0, "lab", "event", "--dir", s.lab, "remove-node", "metro/msub2")
	drift("remove-node", "node msub2 is declared", "not in `show network cluster`")
	writeSpec(declared)
	fix("remove-node")

	// A renamed node: its new name is declared, and CUCM's CTL follows.
	s.run(0, "lab", "event", "--dir", s.lab, "rename", "metro/msub", "msub7")
	drift("rename", "node msub7", "not declared")
	writeSpec([]byte(strings.Replace(string(declared), "{name: msub,", "{name: msub7,", 1)))
	fix("rename")
	if f := s.metroCTLs(s.metroNodes()); recordCert(f, ctl.RoleCCMTFTP, "msub7") == nil || recordCert(f, ctl.RoleCCMTFTP, "msub") != nil {
		t.Error("the CTL does not list msub under its new name")
	}
}

// TestMetroRollout is issue 16 on the tokenless cluster: metro declares its serviceability
// endpoints, so apply --restart-services --reset-devices restarts Cisco Tftp everywhere, then
// Cisco CallManager node by node (msub before the publisher), waiting each time for the lab
// phones that were registered there to register again, and resets them through AXL in
// batches, all through the lab's Control Center, RisPort70 and AXL simulators and not the
// platform CLI; it exits 0 and every metro phone is back over TLS with the new CTL.
func TestMetroRollout(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	s := startLab(t)
	nodes := s.metroNodes()
	for _, n := range nodes {
		if n.Serviceability == "" {
			t.Errorf("lab status gives metro/%s no serviceability address", n.Name)
		}
	}
	s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "metro")
	s.checkMetroPhones("after the first apply", nodes)
	first := deref(s.clusterPhones("metro", 2)[0].CTLSHA256)

	s.run(0, "lab", "event", "--dir", s.lab, "regen-cert", "metro/msub")
	r := s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve", "--restart-services", "--reset-devices",
		"--rollout-poll", "300ms", "--restart-timeout", "60s")
	inOrder(t, r.stdout,
		"utils ctl update CTLFile on mpub",
		"Rollout on metro (R23):",
		"Registration before: 2/2 registered",
		"mpub: restarting Cisco Tftp", "mpub Cisco Tftp: Started",
		"msub: restarting Cisco Tftp", "msub Cisco Tftp: Started",
		"msub: restarting Cisco CallManager", "msub Cisco CallManager: Started", "msub: Cisco CallManager Started; 1 phone(s) registered again",
		"mpub: restarting Cisco CallManager", "mpub Cisco CallManager: Started", "mpub: Cisco CallManager Started;",
		"Reset batch 1/", "registered again",
		"Registration after: 2/2 registered",
		"Rollout: applied",
		"Apply complete.")
	for _, no := range []string{"STOPPED", "utils service restart", "phones not reset"} {
		if strings.Contains(r.stdout+r.stderr, no) {
			t.Errorf("the apply says %q:\n%s%s", no, r.stdout, r.stderr)
		}
	}
	got := s.checkMetroPhones("after the rollout", nodes)
	if got["msub"] == 0 {
		t.Errorf("no metro phone registered with msub after the rollout: %v", got)
	}
	if ps := s.clusterPhones("metro", 2); deref(ps[0].CTLSHA256) == first {
		t.Errorf("%s still holds the first CTL: the resets did not bring the new one", ps[0].Name)
	}
}
