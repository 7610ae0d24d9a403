package live

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// servicesimSpec starts a two-node serviceability simulator with four phones (two SIP on
// cm2, one SCCP on cm1, one unregistered from cm1) and loads a spec declaring it for cluster
// hq, whose CTL Provider is never contacted here.
func servicesimSpec(t *testing.T) *spec.Cluster {
	t.Helper()
	cert, _, err := servicesim.NewCert("hq", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dev := servicesim.NewMemDevices([]servicesim.MemPhone{
		{Phone: servicesim.Phone{Name: "SEP000000000001", Model: 36213, Protocol: "SIP"}, Group: []string{"cm2", "cm1"}, TFTP: "cm1"},
		{Phone: servicesim.Phone{Name: "SEP000000000002", Model: 36213, Protocol: "SIP"}, Group: []string{"cm2", "cm1"}, TFTP: "cm1"},
		{Phone: servicesim.Phone{Name: "SEP000000000003", Model: 7, Protocol: "SCCP"}, Group: []string{"cm1"}, TFTP: "cm1"},
		{Phone: servicesim.Phone{Name: "SEP000000000004", Model: 36213, Protocol: "SIP", Node: "cm1"}}, // last seen on cm1, unregistered
	})
	sim, err := servicesim.Start(servicesim.Config{Cluster: "hq", Username: "axladmin", Password: "pw-for-tests", Cert: cert, Devices: dev,
		Nodes: []servicesim.NodeConfig{{Name: "cm1", Publisher: true}, {Name: "cm2", Services: []string{serviceability.ServiceCallManager}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close(); dev.Close() })
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tomcat-ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[1]}))
	for _, f := range []string{"token1.pem", "token4.der"} {
		b, err := os.ReadFile(filepath.Join("..", "spec", "testdata", "certs", f))
		if err != nil {
			t.Fatal(err)
		}
		write(f, b)
	}
	port := func(n string) string { _, p, _ := net.SplitHostPort(sim.Addr(n)); return p }
	write("ctlops.yaml", []byte(fmt.Sprintf(`version: 1
clusters:
  - name: hq
    mode: non-secure
    providers: [{url: "tftp://127.0.0.1:6969"}]
    tokens:
      - {name: t1, certificate: token1.pem}
      - {name: t4, certificate: token4.der}
    serviceability:
      credentials: {username: axladmin, password: {env: LIVE_TEST_AXL_PASSWORD}}
      tls: {ca: tomcat-ca.pem}
      nodes:
        - {name: cm1, host: 127.0.0.1, port: %s, publisher: true}
        - {name: cm2, host: 127.0.0.1, port: %s}
`, port("cm1"), port("cm2"))))
	cfg, _, err := spec.Load(filepath.Join(dir, "ctlops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Cluster("hq")
}

// The registration counts are read from RisPort70 on the publisher, beside AXL's nodes, and
// carried by the plan; bad credentials are a warning with the counts absent, never an error
// of the cluster (the same read with the right password is the control).
func TestRegistrationCounts(t *testing.T) {
	c := servicesimSpec(t)
	f := &fetcher{opt: Options{Timeout: 5 * time.Second}, sem: make(chan struct{}, 4)}

	t.Setenv("LIVE_TEST_AXL_PASSWORD", "pw-for-tests")
	l := &plan.Live{}
	f.serviceability(context.Background(), c, l)
	r := l.Registration
	if l.RegistrationError != "" || r == nil || l.RegistrationFrom != "cm1" {
		t.Fatalf("registration %+v from %q, error %q", r, l.RegistrationFrom, l.RegistrationError)
	}
	if got := fmt.Sprint(r.Total, r.Registered, r.ByStatus, r.ByProtocol, r.ByNode); got != "4 3 map[Registered:3 UnRegistered:1] map[SCCP:1 SIP:2] map[cm1:1 cm2:2]" {
		t.Errorf("counts %s", got)
	}
	if len(l.AXLNodes) != 2 || l.AXLError != "" {
		t.Errorf("AXL nodes %v, error %q: both are read", l.AXLNodes, l.AXLError)
	}
	if len(l.Errors) > 0 {
		t.Errorf("errors %v", l.Errors)
	}

	t.Setenv("LIVE_TEST_AXL_PASSWORD", "wrong")
	l = &plan.Live{}
	f.serviceability(context.Background(), c, l)
	if l.Registration != nil || l.RegistrationError == "" || len(l.Errors) > 0 {
		t.Fatalf("bad credentials: registration %+v, error %q, cluster errors %v", l.Registration, l.RegistrationError, l.Errors)
	}
	if strings.Contains(l.RegistrationError, "wrong") {
		t.Errorf("the password is in the error: %s", l.RegistrationError)
	}
	p := plan.Build(c, l, time.Now())
	warned := false
	for _, w := range p.Warnings {
		warned = warned || w.Kind == plan.RegistrationUnread && w.Server == "cm1"
	}
	if !warned || p.Registration != nil {
		t.Errorf("plan warnings %+v, registration %+v", p.Warnings, p.Registration)
	}
	for _, r := range p.Refusals {
		if r.Kind == plan.RegistrationUnread {
			t.Errorf("an unread count refuses the plan: %+v", r)
		}
	}
}

// A RisPort70 answer's names are untrusted: control characters are removed, long names are
// clipped, and a flood of distinct names is counted under "other" beyond maxCountKeys.
func TestCountRegistrationsBounded(t *testing.T) {
	var phones []serviceability.Phone
	for i := range 200 {
		phones = append(phones, serviceability.Phone{Name: fmt.Sprint(i), Status: serviceability.Registered,
			Protocol: "SIP\x1b[31m" + strings.Repeat("x", 200), Node: fmt.Sprintf("node%d", i)})
	}
	r := CountRegistrations("cm1", phones)
	if r.Total != 200 || r.Registered != 200 {
		t.Fatalf("total %d registered %d", r.Total, r.Registered)
	}
	if len(r.ByNode) != maxCountKeys+1 || r.ByNode["other"] != 200-maxCountKeys {
		t.Errorf("%d node keys, other %d", len(r.ByNode), r.ByNode["other"])
	}
	if len(r.ByProtocol) != 1 {
		t.Fatalf("protocols %v", r.ByProtocol)
	}
	for k := range r.ByProtocol {
		if strings.ContainsRune(k, '\x1b') || len([]rune(k)) > maxCountKey+1 {
			t.Errorf("protocol key %q not sanitised and clipped", k)
		}
	}
}
