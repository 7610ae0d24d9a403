package test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inOrder fails unless every want appears in out, each after the one before it.
func inOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q after the lines before it; output:\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

// hqRegisteredWithCTL fails unless every hq phone is registered over TLS and holds the CTL
// its TFTP server serves now (fetched with tftp-hpa), and that CTL is not old; it returns it.
func (s *session) hqRegisteredWithCTL(old string) string {
	s.t.Helper()
	served := ""
	n := 0
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		n++
		if !p.Registered || !p.Secure {
			s.t.Errorf("%s: registered=%v secure=%v after the rollout (%s; %s)", p.Name, p.Registered, p.Secure, p.Status, deref(p.LastError))
		}
		cur := s.servedCTL(p)
		if served == "" {
			served = cur
		}
		if deref(p.CTLSHA256) != cur || cur != served {
			s.t.Errorf("%s holds CTL %s, its TFTP server serves %s (the others %s)", p.Name, deref(p.CTLSHA256), cur, served)
		}
	}
	if n == 0 {
		s.t.Fatal("no hq phones")
	}
	if served == old {
		s.t.Errorf("the phones hold the CTL of before the ip-change (%s)", old)
	}
	return served
}

// lastAudit is the last line of the audit log beside the lab's spec.
func (s *session) lastAudit() map[string]any {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.lab, ".ctlops", "audit.jsonl"))
	if err != nil {
		s.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil {
		s.t.Fatal(err)
	}
	return e
}

// TestRolloutAfterIPChange is issue 16's "done when": after an ip-change, one apply restarts
// Cisco TFTP everywhere, then Cisco CallManager node by node (subscribers first) waiting for
// the phones each time, resets the phones through AXL in batches and compares registration
// before and after, all through the lab's Control Center, RisPort70 and AXL simulators backed
// by the lab phones; afterwards every hq phone is registered securely with the new CTL. Then
// the same rollout killed with -9 in the middle of a CallManager restart is finished with
// --resume-rollout, without signing or pushing again. Before it all, requests written by hand
// from Cisco's documentation get the lab phones' registration from RisPort70.
func TestRolloutAfterIPChange(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	if _, err := exec.LookPath("tftp"); err != nil {
		t.Fatal("tftp-hpa's client is needed (scripts/install-deps.sh installs it)")
	}
	s := startLab(t)
	fast := []string{"--rollout-poll", "300ms", "--restart-timeout", "60s"}
	s.run(0, "apply", "-f", s.spec(), "--auto-approve")
	s.run(0, "lab", "event", "reset-phones", "hq", "--dir", s.lab)
	var first string
	for _, p := range s.phones() {
		if p.Cluster == "hq" {
			first = deref(p.CTLSHA256)
		}
	}
	s.checkSOAPByHand()
	s.run(0, "lab", "event", "ip-change", "cm2", "127.0.0.42", "--dir", s.lab)

	r := s.run(0, append([]string{"apply", "-f", s.spec(), "--auto-approve", "--restart-services", "--reset-devices"}, fast...)...)
	inOrder(t, r.stdout,
		// The plan apply shows carries the counts RisPort70 gave as it was made (issue 16).
		"Phones before apply (RisPort70 on cm1): 4/4 registered",
		"Rollout on hq (R23):",
		"Registration before: 4/4 registered",
		"cm1: restarting Cisco Tftp", "cm1 Cisco Tftp: Started",
		"cm2: restarting Cisco Tftp", "cm2 Cisco Tftp: Started",
		"cm3: restarting Cisco Tftp", "cm3 Cisco Tftp: Started",
		// Subscribers first: cm2, then the publisher cm1; cm3 runs no CallManager.
		"cm2: restarting Cisco CallManager", "cm2 Cisco CallManager: Started",
		"cm2: Cisco CallManager Started; 2 phone(s) registered again",
		"cm1: restarting Cisco CallManager", "cm1 Cisco CallManager: Started",
		"cm1: Cisco CallManager Started;",
		"Reset batch 1/", "batch 1/", "registered again",
		"Registration after: 4/4 registered",
		"Rollout: applied",
		"Apply complete.")
	if strings.Contains(r.stdout, "STOPPED") {
		t.Fatalf("a step stopped:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "AXL listProcessNode") {
		t.Errorf("AXL and the inventory disagree on the lab's nodes:\n%s", r.stdout)
	}
	second := s.hqRegisteredWithCTL(first)

	// The counts are in the audit line.
	e := s.lastAudit()
	details, _ := e["details"].([]any)
	found := false
	for _, d := range details {
		dm, _ := d.(map[string]any)
		ro, _ := dm["rollout"].(map[string]any)
		if dm["cluster"] != "hq" || ro == nil {
			continue
		}
		found = true
		before, _ := ro["before"].(map[string]any)
		after, _ := ro["after"].(map[string]any)
		if ro["status"] != "applied" || before["registered"] != float64(4) || after["registered"] != float64(4) {
			t.Errorf("audit rollout: %v", ro)
		}
	}
	if !found {
		t.Fatalf("the audit line has no rollout for hq: %v", e)
	}

	// kill -9 in the middle of the CallManager restarts, then --resume-rollout.
	s.run(0, "lab", "event", "ip-change", "cm2", "127.0.0.43", "--dir", s.lab)
	cmd := exec.Command(filepath.Join(s.bin, "ctlops"), append([]string{"apply", "-f", s.spec(), "--auto-approve", "--restart-services", "--reset-devices"}, fast...)...)
	cmd.Env = s.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan string, 1)
	go func() {
		var seen strings.Builder
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "cm2: restarting Cisco CallManager") {
				_ = cmd.Process.Kill()
				killed <- seen.String()
				return
			}
		}
		killed <- ""
	}()
	var out string
	select {
	case out = <-killed:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the apply did not reach cm2's CallManager restart within 3 minutes")
	}
	_ = cmd.Wait()
	s.mu.Lock()
	s.outputs = append(s.outputs, out, errb.String())
	s.mu.Unlock()
	if out == "" {
		t.Fatalf("the apply ended before cm2's CallManager restart:\n%s", errb.String())
	}
	r = s.run(0, append([]string{"apply", "-f", s.spec(), "--resume-rollout"}, fast...)...)
	inOrder(t, r.stdout, "Resuming the rollout on hq (R23):", "cm2", "CallManager", "cm1: restarting Cisco CallManager",
		"Reset batch 1/", "Registration after: 4/4 registered", "Rollout: applied", "Rollout complete.")
	for _, no := range []string{"restarting Cisco Tftp", "Signing", "Pushing"} {
		if strings.Contains(r.stdout, no) {
			t.Errorf("the resumed rollout did %q again:\n%s", no, r.stdout)
		}
	}
	s.hqRegisteredWithCTL(second)
	// Nothing left: a second resume says so and fails.
	r = s.run(-1, "apply", "-f", s.spec(), "--resume-rollout")
	if r.code == 0 || !strings.Contains(r.stderr, "no rollout to resume") {
		t.Errorf("second resume: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// risAnswer is the part of a selectCmDevice answer the hand-written check reads (element
// names from the RisPort70 WSDL; encoding/xml matches them in any namespace prefix).
type risAnswer struct {
	Nodes []struct {
		Name    string `xml:"Name"`
		Devices []struct {
			Name     string `xml:"Name"`
			Model    int    `xml:"Model"`
			Status   string `xml:"Status"`
			Protocol string `xml:"Protocol"`
			IP       string `xml:"IPAddress>item>IP"`
		} `xml:"CmDevices>item"`
	} `xml:"Body>selectCmDeviceResponse>selectCmDeviceReturn>SelectCmDeviceResult>CmNodes>item"`
}

// soapByHand posts a SOAP envelope written by hand from Cisco's documentation (as curl
// would: POST, Basic auth, text/xml, SOAPAction) to a lab node's serviceability listener.
func (s *session) soapByHand(node, path, action, envelope string) string {
	s.t.Helper()
	var st []struct {
		Cluster, Name, Serviceability string
	}
	if err := json.Unmarshal([]byte(s.run(0, "lab", "status", "--dir", s.lab, "--format", "json").stdout), &st); err != nil {
		s.t.Fatal(err)
	}
	addr := ""
	for _, n := range st {
		if n.Cluster == "hq" && n.Name == node {
			addr = n.Serviceability
		}
	}
	if addr == "" {
		s.t.Fatalf("lab status gives no serviceability address for hq/%s", node)
	}
	ca, err := os.ReadFile(filepath.Join(s.lab, "hq", "serviceability", "ca.pem"))
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		s.t.Fatal("no CA in hq/serviceability/ca.pem")
	}
	pw := ""
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "LAB_AXL_PASSWORD="); ok {
			pw = v
		}
	}
	if pw == "" {
		s.t.Fatal("lab.env exports no LAB_AXL_PASSWORD")
	}
	req, err := http.NewRequest("POST", "https://"+addr+path, strings.NewReader(envelope))
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth("axladmin", pw)
	req.Header.Set("Content-Type", "text/xml;charset=UTF-8")
	req.Header.Set("SOAPAction", action)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 {
		s.t.Fatalf("%s on %s: HTTP %d\n%s", action, node, resp.StatusCode, b)
	}
	return string(b)
}

// checkSOAPByHand: the lab's Control Center answers a hand-written soapGetServiceStatus, and
// its RisPort70 a hand-written selectCmDevice with the lab phones as they are registered.
func (s *session) checkSOAPByHand() {
	s.t.Helper()
	body := s.soapByHand("cm2", "/controlcenterservice2/services/ControlCenterServices", "soapGetServiceStatus",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="http://schemas.cisco.com/ast/soap">
   <soapenv:Header/>
   <soapenv:Body>
      <soap:soapGetServiceStatus>
         <soap:ServiceStatus>Cisco CallManager</soap:ServiceStatus>
         <soap:ServiceStatus>Cisco Tftp</soap:ServiceStatus>
      </soap:soapGetServiceStatus>
   </soapenv:Body>
</soapenv:Envelope>`)
	for _, w := range []string{"<ns1:ServiceName>Cisco CallManager</ns1:ServiceName><ns1:ServiceStatus>Started</ns1:ServiceStatus>",
		"<ns1:ServiceName>Cisco Tftp</ns1:ServiceName><ns1:ServiceStatus>Started</ns1:ServiceStatus>"} {
		if !strings.Contains(body, w) {
			s.t.Errorf("soapGetServiceStatus answer lacks %s:\n%s", w, body)
		}
	}
	body = s.soapByHand("cm1", "/realtimeservice2/services/RISService70", "selectCmDevice",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="http://schemas.cisco.com/ast/soap">
<soapenv:Header/>
<soapenv:Body>
<soap:selectCmDevice>
<soap:StateInfo></soap:StateInfo>
<soap:CmSelectionCriteria>
<soap:MaxReturnedDevices>1000</soap:MaxReturnedDevices>
<soap:DeviceClass>Phone</soap:DeviceClass>
<soap:Model>255</soap:Model>
<soap:Status>Any</soap:Status>
<soap:NodeName></soap:NodeName>
<soap:SelectBy>Name</soap:SelectBy>
<soap:SelectItems><soap:item><soap:Item>*</soap:Item></soap:item></soap:SelectItems>
<soap:Protocol>Any</soap:Protocol>
<soap:DownloadStatus>Any</soap:DownloadStatus>
</soap:CmSelectionCriteria>
</soap:selectCmDevice>
</soapenv:Body>
</soapenv:Envelope>`)
	var ans risAnswer
	if err := xml.Unmarshal([]byte(body), &ans); err != nil {
		s.t.Fatalf("selectCmDevice answer: %v\n%s", err, body)
	}
	type seen struct {
		node, status, proto, ip string
		model                   int
	}
	got := map[string]seen{}
	for _, n := range ans.Nodes {
		for _, d := range n.Devices {
			got[d.Name] = seen{n.Name, d.Status, d.Protocol, d.IP, d.Model}
		}
	}
	models := map[string]int{"CP-7960G": 7, "CP-7965G": 436, "CP-8861": 685}
	n := 0
	for _, p := range s.phones() {
		if p.Cluster != "hq" {
			continue
		}
		n++
		g, ok := got["SEP"+p.MAC]
		want := seen{deref(p.Node), "Registered", p.Protocol, "127.0.0.1", models[p.Model]}
		if !ok || g != want {
			s.t.Errorf("RisPort70 on %s: %+v, lab phones: %+v\n%s", p.Name, g, want, body)
		}
	}
	if n == 0 || len(got) != n {
		s.t.Errorf("RisPort70 lists %d devices, the lab has %d hq phones:\n%s", len(got), n, body)
	}
}
