package provider_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/provider/refserver"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestClusterInventoryFromEveryNode(t *testing.T) {
	c := providertest.Start(t, 3)
	certs := map[string]string{}
	for _, n := range c.Nodes() {
		pem, err := os.ReadFile(filepath.Join(filepath.Dir(n.Config), "callmanager.pem"))
		if err != nil {
			t.Fatal(err)
		}
		certs[n.Name] = string(pem)
	}
	for _, n := range c.Nodes() {
		inv, err := c.Client(n.Name).Cluster(ctx(t))
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if inv.Cluster != "lab" || inv.Mode != provider.ModeNonSecure || !inv.AutoRegistration || inv.Version == "" {
			t.Errorf("%s: header %+v", n.Name, inv)
		}
		if len(inv.Servers) != 3 {
			t.Fatalf("%s lists %d servers, want 3", n.Name, len(inv.Servers))
		}
		for i, s := range inv.Servers {
			want := c.Nodes()[i]
			if s.Name != want.Name || s.Provider != want.Addr || s.Error != "" {
				t.Errorf("%s: server %d = %s %s %q, want %s %s", n.Name, i, s.Name, s.Provider, s.Error, want.Name, want.Addr)
			}
			if !s.HasRole(provider.RoleCCM) || !s.HasRole(provider.RoleTFTP) || s.HasRole(provider.RoleCAPF) {
				t.Errorf("%s: %s roles %v", n.Name, s.Name, s.Roles)
			}
			cc := s.Certificate(provider.RoleCCM)
			if cc == nil || cc.PEM != certs[s.Name] || cc.X509 == nil || cc.X509.Subject.CommonName != s.Name {
				t.Errorf("%s: %s CallManager certificate missing or not the node's own", n.Name, s.Name)
			}
			if !s.IPv4.Is4() || !strings.HasPrefix(s.DNSName, s.Name+".") {
				t.Errorf("%s: %s ip %v dns %q", n.Name, s.Name, s.IPv4, s.DNSName)
			}
		}
	}
}

func TestR22EventsShowInEveryInventory(t *testing.T) {
	c := providertest.Start(t, 2)
	first := c.Nodes()[0].Name
	serial := func(inv *provider.Inventory, name string) string {
		for _, s := range inv.Servers {
			if s.Name == name {
				return s.Certificates[0].X509.SerialNumber.String()
			}
		}
		return ""
	}
	view := func(node string) *provider.Inventory {
		t.Helper()
		inv, err := c.Client(node).Cluster(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	before := view(first)
	c.ChangeIP("cm2", "192.0.2.77")
	c.RegenCert("cm2")
	c.EnableCAPF()
	added := c.AddNode()
	for _, n := range c.Nodes() {
		inv := view(n.Name)
		if len(inv.Servers) != 3 {
			t.Fatalf("%s lists %d servers after add", n.Name, len(inv.Servers))
		}
		cm1, cm2 := inv.Servers[0], inv.Servers[1]
		if cm2.IPv4.String() != "192.0.2.77" {
			t.Errorf("%s: cm2 IP %v", n.Name, cm2.IPv4)
		}
		if serial(inv, "cm2") == serial(before, "cm2") || serial(inv, "cm1") != serial(before, "cm1") {
			t.Errorf("%s: only cm2's certificate should be new", n.Name)
		}
		if !cm1.HasRole(provider.RoleCAPF) || cm1.Certificate(provider.RoleCAPF) == nil || cm2.HasRole(provider.RoleCAPF) {
			t.Errorf("%s: CAPF on cm1 not listed", n.Name)
		}
		if inv.Servers[2].Name != added.Name || inv.Servers[2].Error != "" {
			t.Errorf("%s: added node %+v", n.Name, inv.Servers[2])
		}
	}
	// The node now serves its new certificate on TLS too (the client verifies against the CA).
	c.Rename("cm2", "cm2b")
	inv := view(first)
	if inv.Servers[1].Name != "cm2b" || inv.Servers[1].Certificates[0].X509.Subject.CommonName != "cm2b" {
		t.Errorf("rename not seen: %+v", inv.Servers[1].Name)
	}
	c.RemoveNode(added.Name)
	inv = view(first)
	if len(inv.Servers) != 2 {
		t.Errorf("after remove: %d servers", len(inv.Servers))
	}
}

func TestUnreachablePeerIsReported(t *testing.T) {
	c := providertest.Start(t, 2)
	c.Nodes()[1].Stop()
	inv, err := c.Client(c.Nodes()[0].Name).Cluster(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Servers) != 2 || inv.Servers[1].Error == "" || inv.Servers[1].Name != "cm2" {
		t.Fatalf("a stopped peer must be listed with an error (R26): %+v", inv.Servers)
	}
}

func TestConfigErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "node.yaml")
	os.WriteFile(p, []byte("cluster: x\nbogus: 1\n"), 0o600)
	if _, err := refserver.LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("cluster: x\n"), 0o600)
	if _, err := refserver.LoadConfig(p); err == nil || !strings.Contains(err.Error(), "missing keys") {
		t.Fatalf("err = %v", err)
	}
}
