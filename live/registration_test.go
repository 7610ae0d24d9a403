package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/lab/servicesim/servicesimtest"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// startServicesim starts a serviceability simulator of the named nodes (the first is the
// publisher, which runs AXL and RisPort70) with four phones (two SIP on the second node, one
// SCCP on the first, one unregistered from the first), writes its CA into dir and returns
// the spec's serviceability block for it, indented for a cluster of a spec's list.
func startServicesim(t *testing.T, dir string, nodes ...string) string {
	t.Helper()
	a, b := nodes[0], nodes[1]
	var nc []servicesim.NodeConfig
	for i, n := range nodes {
		nc = append(nc, servicesim.NodeConfig{Name: n, Publisher: i == 0, Services: []string{serviceability.ServiceCallManager}})
	}
	_, _, block := servicesimtest.Start(t, servicesimtest.Options{Cluster: "hq", Nodes: nc, Dir: dir, PasswordEnv: "LIVE_TEST_AXL_PASSWORD",
		Phones: []servicesim.MemPhone{
			{Phone: servicesim.Phone{Name: "SEP000000000001", Model: 36213, Protocol: "SIP"}, Group: []string{b, a}, TFTP: a},
			{Phone: servicesim.Phone{Name: "SEP000000000002", Model: 36213, Protocol: "SIP"}, Group: []string{b, a}, TFTP: a},
			{Phone: servicesim.Phone{Name: "SEP000000000003", Model: 7, Protocol: "SCCP"}, Group: []string{a}, TFTP: a},
			{Phone: servicesim.Phone{Name: "SEP000000000004", Model: 36213, Protocol: "SIP", Node: a}}, // last seen on a, unregistered
		}})
	return block
}

// servicesimSpec loads a spec declaring cluster hq, whose CTL Provider is never contacted
// here, with the serviceability endpoints of a simulator of cm1 and cm2.
func servicesimSpec(t *testing.T) *spec.Cluster {
	t.Helper()
	dir := t.TempDir()
	block := startServicesim(t, dir, "cm1", "cm2")
	for _, f := range []string{"token1.pem", "token4.der"} {
		b, err := os.ReadFile(filepath.Join("..", "spec", "testdata", "certs", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	y := `version: 1
clusters:
  - name: hq
    mode: non-secure
    providers: [{url: "tftp://127.0.0.1:6969"}]
    tokens:
      - {name: t1, certificate: token1.pem}
      - {name: t4, certificate: token4.der}
` + block
	if err := os.WriteFile(filepath.Join(dir, "ctlops.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
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

// A tokenless cluster with serviceability endpoints is read through them too (issue 16): the
// plan carries RisPort70's counts and cross-checks AXL's nodes with `show network cluster`.
// AXL listing mpub and msub agrees (no warning); listing mpub and mold is two warnings (the
// control: the cross-check runs and can fail).
func TestTokenlessServiceability(t *testing.T) {
	t.Setenv("LIVE_TEST_AXL_PASSWORD", "pw-for-tests")
	for _, tc := range []struct {
		nodes []string
		axl   int // AXL warnings
	}{{[]string{"mpub", "msub"}, 0}, {[]string{"mpub", "mold"}, 2}} {
		t.Run(strings.Join(tc.nodes, "+"), func(t *testing.T) {
			sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
			dir := t.TempDir()
			y := cucmsimtest.YAML(sim, "mixed") + startServicesim(t, dir, tc.nodes...)
			if err := os.WriteFile(filepath.Join(dir, "ctlops.yaml"), []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv(cucmsimtest.PasswordEnv, cucmsimtest.Password)
			cfg, _, err := spec.Load(filepath.Join(dir, "ctlops.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			c := planMetro(t, cfg)
			if c.Error != "" || len(c.Refusals) > 0 || c.Platform == nil {
				t.Fatalf("error %q refusals %+v", c.Error, c.Refusals)
			}
			if r := c.Registration; r == nil || r.From != "mpub" || r.Total != 4 || r.Registered != 3 {
				t.Errorf("registration %+v", c.Registration)
			}
			n := 0
			for _, w := range c.Warnings {
				if w.Kind == plan.InventoryAXLDiffers || w.Kind == plan.InventoryAXLUnread {
					n++
				}
			}
			if n != tc.axl {
				t.Errorf("%d AXL warnings, want %d: %+v", n, tc.axl, c.Warnings)
			}
		})
	}
}
