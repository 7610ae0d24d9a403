package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPhonesAfterEveryR22Event is issue 15's proof for every lab event that makes a CTL stale
// (R22; regen-cert is in TestPhonesAfterApply): event, plan, apply, reset the phones, and
// every hq phone is registered over TLS with the CTL its TFTP server serves.
func TestPhonesAfterEveryR22Event(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	if _, err := exec.LookPath("tftp"); err != nil {
		t.Fatal("tftp-hpa's client is needed (scripts/install-deps.sh installs it)")
	}
	s := startLab(t)
	s.run(0, "apply", "-f", s.spec(), "--auto-approve", "--input=false")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	s.checkHQPhones("after the first apply")

	hqNodes := func() map[string]bool {
		out := map[string]bool{}
		for _, n := range s.nodes() {
			if n.Cluster == "hq" {
				out[n.Name] = true
			}
		}
		return out
	}
	before := hqNodes()
	// ip-change on cm2, the first server of the phones' option 150: until the CTL names its
	// new address, phones skip it (P8) and boot from cm1; after the apply cm2 is theirs again.
	// rename cm1: a new host name and certificate (P42 until the CTL holds it).
	// enable-capf: the cluster without CAPF gets it (a CAPF record, R22); every cluster is
	// checked. add-node: a subscriber with its phone side, then remove-node of that subscriber.
	steps := []struct {
		ev      []string
		cluster string // "" resets and checks every cluster
	}{
		{[]string{"ip-change", "cm2", "192.0.2.222"}, "hq"},
		{[]string{"rename", "cm1", "cm1x"}, "hq"},
		{[]string{"enable-capf"}, ""},
		{[]string{"add-node", "hq"}, "hq"},
	}
	for _, st := range steps {
		s.run(0, append([]string{"lab", "event", "--dir", s.lab}, st.ev...)...)
		s.run(0, "apply", "-f", s.spec(), "--auto-approve", "--input=false")
		reset := []string{"lab", "event", "--dir", s.lab, "reset-phones"}
		if st.cluster != "" {
			reset = append(reset, st.cluster)
		}
		s.run(0, reset...)
		s.checkPhones(st.cluster, "after "+strings.Join(st.ev, " ")+", apply and reset")
	}
	var added string
	for n := range hqNodes() {
		if !before[n] && n != "cm1x" {
			added = n
		}
	}
	if added == "" {
		t.Fatal("add-node: no new hq node in lab status")
	}
	// The new node's phone side serves the phones' CTL under their per-MAC names (P3).
	addr := s.phoneNodeTFTP("hq", added)
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		q := p
		q.TFTPAddr = addr
		if got := s.servedCTL(q); got != deref(p.CTLSHA256) {
			t.Errorf("%s's phone side serves %s CTLSEP%s.tlv = %s, the phone holds %s", added, added, p.MAC, got, deref(p.CTLSHA256))
		}
	}
	s.run(0, "lab", "event", "--dir", s.lab, "remove-node", added)
	s.run(0, "apply", "-f", s.spec(), "--auto-approve", "--input=false")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	s.checkHQPhones("after remove-node " + added + ", apply and reset")
	for _, p := range s.phones() {
		if p.Cluster == "hq" && deref(p.Node) == added {
			t.Errorf("%s is registered with %s, which left the cluster", p.Name, added)
		}
	}
}

// checkHQPhones is checkPhones for hq.
func (s *session) checkHQPhones(when string) { s.t.Helper(); s.checkPhones("hq", when) }

// checkPhones: every phone of cluster ("": of every cluster) registered over TLS, with the
// CTL its TFTP server serves and no error at its last boot.
func (s *session) checkPhones(cluster, when string) {
	s.t.Helper()
	n := 0
	for _, p := range s.phones() {
		if cluster != "" && p.Cluster != cluster {
			continue
		}
		n++
		served := s.servedCTL(p)
		// No lastError either: a phone that took the CTL but then failed a download (P8) is
		// registered on a stale configuration, not done.
		if !p.Registered || !p.Secure || deref(p.CTLSHA256) != served || p.LastError != nil {
			s.t.Errorf("%s, %s (%s): registered=%v secure=%v node=%s ctl=%s served=%s status=%q error=%s",
				when, p.Name, p.Model, p.Registered, p.Secure, deref(p.Node), deref(p.CTLSHA256), served, p.Status, deref(p.LastError))
		}
	}
	if n == 0 {
		s.t.Fatalf("%s: no phone of cluster %q", when, cluster)
	}
	if s.t.Failed() {
		s.t.FailNow()
	}
}

// phoneNodeTFTP is where the lab reaches a node's phone-side TFTP server (phones.json).
func (s *session) phoneNodeTFTP(cluster, name string) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.lab, "phones", "phones.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	var pl struct {
		Nodes []struct {
			Cluster string `json:"cluster"`
			Config  string `json:"config"`
			TFTP    string `json:"tftp"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(b, &pl); err != nil {
		s.t.Fatal(err)
	}
	for _, n := range pl.Nodes {
		cfg, err := os.ReadFile(n.Config)
		if n.Cluster == cluster && err == nil && strings.Contains(string(cfg), "name: "+name+"\n") {
			return n.TFTP
		}
	}
	s.t.Fatalf("phones.json has no phone side for %s/%s", cluster, name)
	return ""
}
