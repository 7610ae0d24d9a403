package test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// labPhone is one object of `ctlops lab phones --format json`.
type labPhone struct {
	Name       string  `json:"name"`
	MAC        string  `json:"mac"`
	Model      string  `json:"model"`
	Cluster    string  `json:"cluster"`
	Protocol   string  `json:"protocol"`
	Node       *string `json:"node"`
	Registered bool    `json:"registered"`
	Secure     bool    `json:"secure"`
	CTLSHA256  *string `json:"ctlSHA256"`
	ITLSHA256  *string `json:"itlSHA256"`
	Status     string  `json:"status"`
	LastError  *string `json:"lastError"`
	TFTPAddr   string  `json:"tftpAddr"`
}

func (s *session) phones() []labPhone {
	s.t.Helper()
	r := s.run(0, "lab", "phones", "--dir", s.lab, "--format", "json")
	var ps []labPhone
	if err := json.Unmarshal([]byte(r.stdout), &ps); err != nil {
		s.t.Fatalf("lab phones: %v\n%s", err, r.stdout)
	}
	return ps
}

// servedCTL is the SHA-256 of CTLSEP<MAC>.tlv as the phone's TFTP server serves it, fetched
// with Debian's tftp-hpa client, not with ctlops' code.
func (s *session) servedCTL(p labPhone) string {
	s.t.Helper()
	host, port, _ := strings.Cut(p.TFTPAddr, ":")
	name := "CTLSEP" + p.MAC + ".tlv"
	out := filepath.Join(s.t.TempDir(), name)
	if b, err := exec.Command("tftp", "-m", "binary", host, port, "-c", "get", name, out).CombinedOutput(); err != nil {
		s.t.Fatalf("tftp %s %s: %v\n%s", p.TFTPAddr, name, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil || len(data) == 0 {
		s.t.Fatalf("tftp %s: no %s (%v)", p.TFTPAddr, name, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// TestPhonesAfterApply is issue 15's proof: phones boot with the lab, take the CTL ctlops
// applies and register over TLS with the CallManager certificate it holds; a CTL pushed
// behind the provider's back by an untrusted signer is refused and the old one kept.
func TestPhonesAfterApply(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	if _, err := exec.LookPath("tftp"); err != nil {
		t.Fatal("tftp-hpa's client is needed (scripts/install-deps.sh installs it)")
	}
	s := startLab(t)
	before := s.phones()
	count := map[string]int{}
	models := map[string]bool{}
	for _, p := range before {
		count[p.Cluster]++
		if p.Cluster == "hq" {
			models[p.Model+"/"+p.Protocol] = true
		}
		// Before any CTL: registered, but not over TLS (P4, P38).
		if !p.Registered || p.Secure || p.CTLSHA256 != nil {
			t.Errorf("before apply, %s: registered=%v secure=%v ctl=%s", p.Name, p.Registered, p.Secure, deref(p.CTLSHA256))
		}
	}
	if count["hq"] != 4 || count["branch"] != 2 || count["metro"] != 2 || len(models) < 3 {
		t.Fatalf("want 4 phones of mixed models on hq, 2 on branch and 2 on metro: %v %v", count, models)
	}

	s.run(0, "apply", "-f", s.spec(), "--auto-approve", "--input=false")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones")
	installed := map[string]string{}
	for _, p := range s.phones() {
		served := s.servedCTL(p)
		if !p.Registered || !p.Secure || deref(p.CTLSHA256) != served {
			t.Errorf("after apply and reset, %s (%s): registered=%v secure=%v node=%s ctl=%s served=%s status=%q error=%s",
				p.Name, p.Model, p.Registered, p.Secure, deref(p.Node), deref(p.CTLSHA256), served, p.Status, deref(p.LastError))
		}
		installed[p.Name] = deref(p.CTLSHA256)
	}
	if t.Failed() {
		t.FailNow()
	}

	// R22: cm1 gets a new CallManager certificate. Until the CTL holds it, phones cannot
	// trust cm1 over TLS (P42) and fail over to cm2; after apply and a reset every phone
	// registers securely again, with the CTL its server serves.
	s.run(0, "lab", "event", "--dir", s.lab, "regen-cert", "cm1")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	for _, p := range s.phones() {
		if p.Cluster == "hq" && p.Registered && deref(p.Node) == "cm1" {
			t.Errorf("after regen-cert cm1 and before apply, %s registered with cm1, whose new certificate no installed CTL holds (P42)", p.Name)
		}
	}
	s.run(0, "apply", "-f", s.spec(), "--auto-approve", "--input=false")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	cm1 := 0
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		served := s.servedCTL(p)
		if !p.Registered || !p.Secure || deref(p.CTLSHA256) != served {
			t.Errorf("after regen-cert, apply and reset, %s: registered=%v secure=%v ctl=%s served=%s status=%q error=%s",
				p.Name, p.Registered, p.Secure, deref(p.CTLSHA256), served, p.Status, deref(p.LastError))
		}
		if deref(p.Node) == "cm1" {
			cm1++
		}
		installed[p.Name] = served
	}
	if cm1 == 0 {
		t.Error("no hq phone registered with cm1 after the apply: its new certificate is still not trusted")
	}

	s.run(0, "lab", "event", "--dir", s.lab, "rogue-update", "cm2")
	s.run(0, "lab", "event", "--dir", s.lab, "reset-phones", "hq")
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		// Positive control: the phone's server does serve another file now.
		if served := s.servedCTL(p); served == installed[p.Name] {
			t.Fatalf("%s: its TFTP server still serves the old CTL; the rogue update did not reach it", p.Name)
		}
		refused := p.Status == "Trust List update failed" || p.Status == "CTL update failed"
		if deref(p.CTLSHA256) != installed[p.Name] || !refused || p.LastError == nil || !p.Registered || !p.Secure {
			t.Errorf("after rogue-update cm2, %s (%s): ctl=%s (was %s) status=%q error=%s registered=%v secure=%v",
				p.Name, p.Model, deref(p.CTLSHA256), installed[p.Name], p.Status, deref(p.LastError), p.Registered, p.Secure)
		}
	}

	// An erase by hand (P49) makes the phone a new one: it imprints whatever its server
	// serves, the rogue file included (P13, leap of faith): why erasing is a last resort.
	s.run(0, "lab", "event", "--dir", s.lab, "erase-ctl", "hq-7960-1")
	for _, p := range s.phones() {
		if p.Name != "hq-7960-1" {
			continue
		}
		if served := s.servedCTL(p); deref(p.CTLSHA256) != served || p.Status != "CTL Installed" {
			t.Errorf("after erase-ctl, %s: ctl=%s served=%s status=%q", p.Name, deref(p.CTLSHA256), served, p.Status)
		}
	}

	// lab down leaves no phone process behind.
	pids := phonePIDs(t, s.lab)
	if len(pids) == 0 {
		t.Fatal("phones.json records no phone process")
	}
	s.run(0, "lab", "down", "--dir", s.lab)
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); strings.Contains(string(b), s.lab) {
				t.Errorf("process %d (%s) outlived lab down", pid, strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
	}
}

func phonePIDs(t *testing.T, dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "phones", "phones.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pl struct {
		Procs []struct {
			PID int `json:"pid"`
		} `json:"procs"`
	}
	if err := json.Unmarshal(b, &pl); err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range pl.Procs {
		out = append(out, p.PID)
	}
	return out
}
