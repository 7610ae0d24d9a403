package servicesim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

const (
	user = "axladmin"
	pass = "lab-Pa55word"
)

type sim struct {
	*Cluster
	dev  *MemDevices
	pool *x509.CertPool
}

func phones() []MemPhone {
	return []MemPhone{
		{Phone: Phone{Name: "SEP000000000001", Model: 36213, Protocol: "SIP", IP: "127.0.0.101"}, Group: []string{"cm2", "cm3"}, TFTP: "cm1"},
		{Phone: Phone{Name: "SEP000000000002", Model: 36213, Protocol: "SIP", IP: "127.0.0.102"}, Group: []string{"cm2", "cm3"}, TFTP: "cm1"},
		{Phone: Phone{Name: "SEP000000000003", Model: 621, Protocol: "SCCP", IP: "127.0.0.103"}, Group: []string{"cm3", "cm2"}, TFTP: "cm1"},
	}
}

func newSim(t *testing.T, mutate func(*Config)) *sim {
	t.Helper()
	cert, pool, err := NewCert("hq", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dev := NewMemDevices(phones())
	dev.Delay = 30 * time.Millisecond
	cfg := Config{
		Cluster: "hq", Username: user, Password: pass, Cert: cert, Devices: dev,
		StopTime: 40 * time.Millisecond, StartTime: 40 * time.Millisecond,
		Nodes: []NodeConfig{{Name: "cm1", Publisher: true}, {Name: "cm2"}, {Name: "cm3"}},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); dev.Close() })
	return &sim{Cluster: c, dev: dev, pool: pool}
}

func (s *sim) client(t *testing.T, node string) *serviceability.Client {
	t.Helper()
	c, err := serviceability.New(s.URL(node), serviceability.Options{Node: node, Username: user, Password: pass, RootCAs: s.pool, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// post sends a hand-written request as curl would.
func (s *sim) post(t *testing.T, node, path, action, body, u, p string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL(node)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml;charset=UTF-8")
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	req.SetBasicAuth(u, p)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pool}}, Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// Requests written by hand from Cisco's documentation (CUCM-INTERFACES.md §4, the WSDLs and
// DevNet's samples), not by this project's client, get correct answers.
func TestHandWrittenRequests(t *testing.T) {
	s := newSim(t, nil)
	for _, tc := range []struct {
		name, node, path, action, body string
		want                           []string
	}{
		{"soapGetServiceStatus", "cm2", serviceability.ControlCenterPath, "soapGetServiceStatus",
			`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="http://schemas.cisco.com/ast/soap">
   <soapenv:Header/>
   <soapenv:Body>
      <soap:soapGetServiceStatus>
         <soap:ServiceStatus>Cisco CallManager</soap:ServiceStatus>
      </soap:soapGetServiceStatus>
   </soapenv:Body>
</soapenv:Envelope>`,
			[]string{`<ns1:soapGetServiceStatusResponse xmlns:ns1="http://schemas.cisco.com/ast/soap">`, `<ns1:ServiceName>Cisco CallManager</ns1:ServiceName><ns1:ServiceStatus>Started</ns1:ServiceStatus>`}},
		{"soapDoControlServices", "cm2", serviceability.ControlCenterPath, "soapDoControlServices",
			`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="http://schemas.cisco.com/ast/soap">
  <soapenv:Body>
    <soap:soapDoControlServices>
      <soap:ControlServiceRequest>
        <soap:NodeName>cm2</soap:NodeName>
        <soap:ControlType>Restart</soap:ControlType>
        <soap:ServiceList><soap:item>Cisco Tftp</soap:item></soap:ServiceList>
      </soap:ControlServiceRequest>
    </soap:soapDoControlServices>
  </soapenv:Body>
</soapenv:Envelope>`,
			[]string{`<ns1:soapDoControlServicesReturn>`, `<ns1:ServiceName>Cisco Tftp</ns1:ServiceName><ns1:ServiceStatus>Stopping</ns1:ServiceStatus>`}},
		{"selectCmDevice", "cm1", serviceability.RisPortPath, "selectCmDevice",
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
</soapenv:Envelope>`,
			[]string{`<ns1:TotalDevicesFound>3</ns1:TotalDevicesFound>`, `<ns1:Name>cm2</ns1:Name>`,
				`<ns1:Name>SEP000000000003</ns1:Name>`, `<ns1:Status>Registered</ns1:Status>`, `<ns1:IP>127.0.0.103</ns1:IP>`, `<ns1:Protocol>SCCP</ns1:Protocol>`}},
		{"getCCMVersion", "cm1", serviceability.AXLPath, `"CUCM:DB ver=14.0 getCCMVersion"`,
			`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.cisco.com/AXL/API/14.0">
  <soapenv:Header/>
  <soapenv:Body>
    <ns:getCCMVersion/>
  </soapenv:Body>
</soapenv:Envelope>`,
			[]string{`<ns1:getCCMVersionResponse xmlns:ns1="http://www.cisco.com/AXL/API/14.0"><return><componentVersion><version>14.0.1.13900(155)</version>`}},
		{"listProcessNode", "cm1", serviceability.AXLPath, `"CUCM:DB ver=12.5 listProcessNode"`,
			`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="http://www.cisco.com/AXL/API/12.5">
  <soapenv:Body>
    <ns:listProcessNode>
      <searchCriteria><name>%</name></searchCriteria>
      <returnedTags><name/><nodeUsage/></returnedTags>
    </ns:listProcessNode>
  </soapenv:Body>
</soapenv:Envelope>`,
			[]string{`<name>EnterpriseWideData</name>`, `<name>cm1</name><description>cm1</description><mac></mac><ipv6Name></ipv6Name><nodeUsage>Publisher</nodeUsage>`, `<name>cm3</name>`}},
	} {
		code, body, _ := s.post(t, tc.node, tc.path, tc.action, tc.body, user, pass)
		if code != 200 {
			t.Errorf("%s: HTTP %d %s", tc.name, code, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: answer lacks %s:\n%s", tc.name, w, body)
			}
		}
	}
}

func TestAuthAndFaults(t *testing.T) {
	s := newSim(t, nil)
	body := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="http://schemas.cisco.com/ast/soap"><soapenv:Body><soap:soapGetServiceStatus><soap:ServiceStatus/></soap:soapGetServiceStatus></soapenv:Body></soapenv:Envelope>`
	for _, p := range []string{"wrong", ""} {
		code, _, h := s.post(t, "cm2", serviceability.ControlCenterPath, "soapGetServiceStatus", body, user, p)
		if code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("password %q: HTTP %d %v", p, code, h)
		}
	}
	if code, _, _ := s.post(t, "cm2", serviceability.AXLPath, "", body, user, pass); code != 404 {
		t.Errorf("AXL on a subscriber: HTTP %d, want 404", code)
	}

	ctx := context.Background()
	bad, err := serviceability.New(s.URL("cm2"), serviceability.Options{Node: "cm2", Username: user, Password: "nope", RootCAs: s.pool})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetServiceStatus(ctx); !errors.Is(err, serviceability.ErrUnauthorized) || !strings.HasPrefix(err.Error(), "cm2: ") {
		t.Errorf("bad credentials: %v", err)
	}
	c := s.client(t, "cm2")
	if _, err := c.ControlServices(ctx, serviceability.Restart, "Cisco Nonesuch"); err == nil ||
		err.Error() != "cm2: Control Center soapDoControlServices: SOAP fault soapenv:Server: Service Not Found: Cisco Nonesuch" {
		t.Errorf("unknown service: %v", err)
	}
	if got := s.History(); len(got) != 0 {
		t.Errorf("a refused request changed state: %v", got)
	}
	if err := s.client(t, "cm1").DoDeviceReset(ctx, "SEPNOSUCH"); err == nil || !strings.Contains(err.Error(), "cm1: AXL doDeviceReset: SOAP fault soapenv:Client: Item not valid") {
		t.Errorf("unknown device: %v", err)
	}
	// A node not running a service reports it not activated.
	s2 := newSim(t, func(c *Config) { c.Nodes[0].Services = []string{serviceability.ServiceCallManager} })
	r, err := s2.client(t, "cm1").GetServiceStatus(ctx, serviceability.ServiceTFTP)
	if err != nil || len(r.Services) != 1 || r.Services[0].Status != serviceability.Stopped || r.Services[0].ReasonCodeString != "Service Not Activated" {
		t.Errorf("not activated: %v %+v", err, r)
	}
}

func statusOf(t *testing.T, c *serviceability.Client, svc string) serviceability.ServiceStatus {
	r, err := c.GetServiceStatus(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	info, ok := r.Find(svc)
	if !ok {
		t.Fatalf("%s not in %+v", svc, r)
	}
	return info.Status
}

// Restarting CallManager on cm2 drops its phones, which fail over to cm3 and fall back.
func TestRestartFailsOverAndBack(t *testing.T) {
	s := newSim(t, nil)
	c := s.client(t, "cm2")
	r, err := c.ControlServices(context.Background(), serviceability.Restart, serviceability.ServiceCallManager)
	if err != nil || r.Services[0].Status != serviceability.Stopping {
		t.Fatalf("%v %+v", err, r)
	}
	eventually(t, "CallManager Started again", func() bool { return statusOf(t, c, serviceability.ServiceCallManager) == serviceability.Started })
	want := []Transition{
		{"cm2", serviceability.ServiceCallManager, serviceability.Stopping},
		{"cm2", serviceability.ServiceCallManager, serviceability.Stopped},
		{"cm2", serviceability.ServiceCallManager, serviceability.Starting},
		{"cm2", serviceability.ServiceCallManager, serviceability.Started},
	}
	if got := s.History(); !reflect.DeepEqual(got, want) {
		t.Errorf("history %v", got)
	}
	eventually(t, "phones back on cm2", func() bool {
		p1, _ := s.dev.Phone("SEP000000000001")
		p2, _ := s.dev.Phone("SEP000000000002")
		return p1.Node == "cm2" && p1.Status == Registered && p2.Node == "cm2" && p2.Status == Registered
	})
	ch := s.dev.Changes()
	var seq []string
	for _, x := range ch {
		if x.Phone == "SEP000000000001" {
			seq = append(seq, x.Status+"@"+x.Node)
		}
	}
	if strings.Join(seq, " ") != "UnRegistered@cm2 Registered@cm3 Registered@cm2" {
		t.Errorf("SEP000000000001: %v", seq)
	}
	for _, x := range ch {
		if x.Phone == "SEP000000000003" {
			t.Errorf("a phone of cm3 moved: %v", x)
		}
	}

	// RisPort70 on any node shows the cluster's phones.
	res, err := s.client(t, "cm3").SelectCmDevice(context.Background(), serviceability.Criteria{})
	if err != nil || len(res.Phones()) != 3 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestStuckServiceNeverStarts(t *testing.T) {
	s := newSim(t, nil)
	s.Stick("cm3", serviceability.ServiceCallManager, true)
	c := s.client(t, "cm3")
	if _, err := c.ControlServices(context.Background(), serviceability.Restart, serviceability.ServiceCallManager); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Starting", func() bool { return statusOf(t, c, serviceability.ServiceCallManager) == serviceability.Starting })
	eventually(t, "cm3's phone on cm2", func() bool { p, _ := s.dev.Phone("SEP000000000003"); return p.Node == "cm2" && p.Status == Registered })
	s.Stick("cm3", serviceability.ServiceCallManager, false)
	eventually(t, "Started", func() bool { return statusOf(t, c, serviceability.ServiceCallManager) == serviceability.Started })
}

// A phone reset while its TFTP server is down cannot fetch, and registers once TFTP is back.
func TestResetWaitsForTFTP(t *testing.T) {
	s := newSim(t, func(c *Config) { c.StartTime = 300 * time.Millisecond })
	ctx := context.Background()
	cc := s.client(t, "cm1")
	if _, err := cc.ControlServices(ctx, serviceability.Stop, serviceability.ServiceTFTP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "TFTP Stopped", func() bool { return statusOf(t, cc, serviceability.ServiceTFTP) == serviceability.Stopped })
	if err := cc.DoDeviceReset(ctx, "SEP000000000001"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.dev.Phone("SEP000000000001"); p.Status != UnRegistered {
		t.Fatalf("reset phone still %s", p.Status)
	}
	if _, err := cc.ControlServices(ctx, serviceability.Start, serviceability.ServiceTFTP); err != nil {
		t.Fatal(err)
	}
	// While TFTP is Starting (300 ms, ten times the phone's delay) the phone stays down.
	eventually(t, "TFTP Starting", func() bool { return statusOf(t, cc, serviceability.ServiceTFTP) == serviceability.Starting })
	for statusOf(t, cc, serviceability.ServiceTFTP) == serviceability.Starting {
		if p, _ := s.dev.Phone("SEP000000000001"); p.Status == Registered {
			t.Fatal("phone registered while its TFTP server was down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	eventually(t, "phone registered after TFTP start", func() bool { p, _ := s.dev.Phone("SEP000000000001"); return p.Status == Registered && p.Node == "cm2" })
}

func TestRisPortPagesAndFilters(t *testing.T) {
	s := newSim(t, func(c *Config) { c.PageSize = 2 })
	ctx := context.Background()
	c := s.client(t, "cm1")
	res, err := c.SelectCmDevice(ctx, serviceability.Criteria{})
	if err != nil || len(res.Phones()) != 3 {
		t.Fatalf("%v %+v", err, res)
	}
	res, err = c.SelectCmDevice(ctx, serviceability.Criteria{Protocol: "SCCP"})
	if err != nil || len(res.Phones()) != 1 || res.Phones()[0].Name != "SEP000000000003" {
		t.Fatalf("SCCP: %v %+v", err, res)
	}
	res, err = c.SelectCmDevice(ctx, serviceability.Criteria{Names: []string{"SEP000000000002"}})
	if err != nil || len(res.Phones()) != 1 {
		t.Fatalf("by name: %v %+v", err, res)
	}
	nodes, err := c.ListProcessNode(ctx)
	if err != nil || len(nodes) != 4 || nodes[1].Name != "cm1" || nodes[1].NodeUsage != "Publisher" || nodes[2].NodeUsage != "Subscriber" {
		t.Fatalf("%v %+v", err, nodes)
	}
	v, err := c.GetCCMVersion(ctx)
	if err != nil || v != "14.0.1.13900(155)" {
		t.Fatalf("%v %q", err, v)
	}
}

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{{"", "x", true}, {"%", "cm1", true}, {"cm%", "cm1", true}, {"%1", "cm1", true}, {"c%1", "cm1", true},
		{"cm1", "CM1", true}, {"cm", "cm1", false}, {"%2", "cm1", false}, {"x%", "cm1", false}} {
		if got := like(tc.p, tc.s); got != tc.want {
			t.Errorf("like(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

// A phone that needs a reset (a security mode change under an encrypted profile) does not
// register again after its CallManager restarts, on any node, while the others do; its
// reset brings it back.
func TestNeedResetRegistersOnlyAfterReset(t *testing.T) {
	s := newSim(t, nil)
	s.dev.NeedReset("SEP000000000001")
	c := s.client(t, "cm2")
	if _, err := c.ControlServices(context.Background(), serviceability.Restart, serviceability.ServiceCallManager); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the other phone back on cm2", func() bool {
		p, _ := s.dev.Phone("SEP000000000002")
		return statusOf(t, c, serviceability.ServiceCallManager) == serviceability.Started && p.Node == "cm2" && p.Status == Registered
	})
	if p, _ := s.dev.Phone("SEP000000000001"); p.Status != UnRegistered {
		t.Fatalf("a phone that needs a reset registered again: %+v", p)
	}
	if err := s.client(t, "cm1").DoDeviceReset(context.Background(), "SEP000000000001"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "registered after the reset", func() bool { p, _ := s.dev.Phone("SEP000000000001"); return p.Status == Registered && p.Node == "cm2" })
	var seq []string
	for _, x := range s.dev.Changes() {
		if x.Phone == "SEP000000000001" {
			seq = append(seq, x.Status+"@"+x.Node)
		}
	}
	if strings.Join(seq, " ") != "UnRegistered@cm2 Registered@cm2" {
		t.Errorf("SEP000000000001: %v", seq)
	}
}
