package test

import (
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/lab"
	"github.com/ctlops/ctlops/provider/refserver"
	"github.com/ctlops/ctlops/token/softhsm"
)

// hqFileLocations are the CTLFile.tlv paths of hq's nodes, where the TFTP servers read it: a
// file copied there is pushed "by hand", behind the provider's back.
func (s *session) hqFileLocations() []string {
	s.t.Helper()
	l, err := lab.Open(s.lab)
	if err != nil {
		s.t.Fatal(err)
	}
	dir, err := l.ClusterDir(lab.HQ)
	if err != nil {
		s.t.Fatal(err)
	}
	nodes, err := refserver.Nodes(dir)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		out = append(out, filepath.Join(n.Abs(n.FileLocation), "CTLFile.tlv"))
	}
	return out
}

// stranger is a software key pair no CTL of the lab trusts.
func stranger(t *testing.T, dir, name string) (key, cert string) {
	k, c, err := softhsm.SoftwareKey(pkix.Name{CommonName: "SAST-" + name, Organization: []string{"new token"}}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key, cert = filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pem")
	if err := os.WriteFile(key, k, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, c, 0o644); err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// TestPhonesSignerChange is issue 15's negative proof. A CTL re-signed with `resign --force` by
// a token no installed CTL trusts, pushed by hand, is refused by every phone, which keeps its
// CTL and says so in Cisco's words. Then the signer change done right for SBD phones (the new
// token in Phone-SAST-trust, P30): the SBD phones take the new CTL through TVS, the 79xx
// without SBD refuses it until its trust list is erased (P17), and ctlops' plan said exactly
// that, by model, before anything was pushed.
func TestPhonesSignerChange(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	if _, err := exec.LookPath("tftp"); err != nil {
		t.Fatal("tftp-hpa's client is needed (scripts/install-deps.sh installs it)")
	}
	s := startLab(t)
	s.run(0, "apply", "-f", s.spec(), "--auto-approve", "--input=false")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	installed := map[string]string{}
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		if !p.Registered || !p.Secure || p.CTLSHA256 == nil {
			t.Fatalf("after apply, %s: registered=%v secure=%v status=%q error=%s", p.Name, p.Registered, p.Secure, p.Status, deref(p.LastError))
		}
		installed[p.Name] = *p.CTLSHA256
	}
	keys := t.TempDir()
	carolKey, carolCert := stranger(t, keys, "carol")
	_, daveCert := stranger(t, keys, "dave")

	// Beforehand: the plan for a spec that declares the new tokens says which models refuse.
	specData, err := os.ReadFile(s.spec())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	newSpec := regexp.MustCompile(`tokens/[A-Za-z0-9_-]+\.(pem|key)`).ReplaceAllStringFunc(string(specData), func(m string) string {
		n++
		switch {
		case strings.HasSuffix(m, ".key"):
			return carolKey
		case n%2 == 1:
			return carolCert
		}
		return daveCert
	})
	newSpecPath := filepath.Join(s.lab, "ctlops-new-tokens.yaml")
	if err := os.WriteFile(newSpecPath, []byte(newSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	r := s.run(-1, "plan", "-f", newSpecPath, "--format", "json")
	var pl struct {
		Clusters []struct {
			Name     string `json:"name"`
			Refusals []struct {
				Kind  string `json:"kind"`
				Rule  string `json:"rule"`
				Model string `json:"have"`
			} `json:"refusals"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &pl); err != nil {
		t.Fatalf("plan --format json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	said := map[string]string{}
	for _, c := range pl.Clusters {
		if c.Name != "hq" {
			continue
		}
		for _, p := range c.Refusals {
			if strings.HasPrefix(p.Kind, "phone-model-") {
				said[p.Model] = p.Kind + " " + p.Rule
			}
		}
	}
	if said["CP-7960G"] != "phone-model-needs-erase P17" || said["CP-7965G"] != "phone-model-needs-tvs P15" || said["CP-8861"] != "phone-model-needs-tvs P15" {
		t.Fatalf("the plan must say beforehand which models refuse the new signer: %v\n%s", said, r.stdout)
	}

	// resign --force with the untrusted token, and a copy onto every hq TFTP server by hand.
	locs := s.hqFileLocations()
	out := filepath.Join(keys, "CTLFile.tlv")
	rr := s.run(0, "resign", locs[0], "--out", out, "--force", "--key", carolKey, "--cert", carolCert)
	if !strings.Contains(rr.stderr, "WILL REJECT") || !strings.Contains(rr.stderr, "CP-7960G (79xx) refuses it until its trust list is erased by hand (P17") {
		t.Errorf("resign --force must say which phones refuse:\n%s", rr.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range locs {
		if err := os.WriteFile(loc, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		if served := s.servedCTL(p); served == installed[p.Name] {
			t.Fatalf("%s: its TFTP server still serves the old CTL; the hand push did not reach it", p.Name)
		}
		refused := p.Status == "Trust List update failed" || p.Status == "CTL update failed"
		if deref(p.CTLSHA256) != installed[p.Name] || !refused || p.LastError == nil || !p.Registered || !p.Secure {
			t.Errorf("after resign --force pushed by hand, %s (%s): ctl=%s (was %s) status=%q error=%s registered=%v secure=%v",
				p.Name, p.Model, deref(p.CTLSHA256), installed[p.Name], p.Status, deref(p.LastError), p.Registered, p.Secure)
		}
	}

	// The new token uploaded to hq's Phone-SAST-trust: TVS now vouches for it (P30).
	l, err := lab.Open(s.lab)
	if err != nil {
		t.Fatal(err)
	}
	hqDir, _ := l.ClusterDir(lab.HQ)
	trust := filepath.Join(hqDir, "phone-sast-trust.pem")
	old, err := os.ReadFile(trust)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(carolCert)
	if err := os.WriteFile(trust, append(old, c...), 0o644); err != nil {
		t.Fatal(err)
	}
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		served := s.servedCTL(p)
		if p.Model == "CP-7960G" {
			if deref(p.CTLSHA256) != installed[p.Name] || p.Status != "CTL update failed" || !strings.Contains(deref(p.LastError), "manually delete") {
				t.Errorf("%s has no TVS: it must refuse the new signer until erased (P17), as the plan said: ctl=%s status=%q error=%s",
					p.Name, deref(p.CTLSHA256), p.Status, deref(p.LastError))
			}
			continue
		}
		if deref(p.CTLSHA256) != served || !p.Registered || !p.Secure || p.Status != "Trust List updated" {
			t.Errorf("%s (%s, SBD) must take the new CTL through TVS (P15): ctl=%s served=%s status=%q error=%s registered=%v secure=%v",
				p.Name, p.Model, deref(p.CTLSHA256), served, p.Status, deref(p.LastError), p.Registered, p.Secure)
		}
	}
	// The erase the plan asked for: the 79xx imprints the new CTL and registers securely.
	s.run(0, "lab", "event", "--dir", s.lab, "erase-ctl", "hq-7960-1")
	for _, p := range s.phones() {
		if p.Name == "hq-7960-1" {
			if served := s.servedCTL(p); deref(p.CTLSHA256) != served || !p.Registered || !p.Secure {
				t.Errorf("after erase-ctl, %s: ctl=%s served=%s registered=%v secure=%v error=%s", p.Name, deref(p.CTLSHA256), served, p.Registered, p.Secure, deref(p.LastError))
			}
		}
	}
}
