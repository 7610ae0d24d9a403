package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider/refserver"
)

// TestScenarioHostileInventory: a server whose inventory entry names a place of its choosing
// (a local directory, a TFTP server, a URL with a path) as its CTL Provider is reported with
// the server named and ignored: nothing there is read, and nothing is ever written there.
func TestScenarioHostileInventory(t *testing.T) {
	for _, addr := range []string{"dir://VICTIM", "tftp://127.0.0.1:1", "https://127.0.0.1:1/x", "user@127.0.0.1:1"} {
		t.Run(addr, func(t *testing.T) {
			l := installed(t, 2, hq("mixed", "alice", "bob"))
			victim := t.TempDir()
			hostile := strings.Replace(addr, "VICTIM", victim, 1)
			pc := l.Clusters["hq"]
			// The positive control: as the server is, its address is a target.
			if n := len(clusterOf(t, l.Plan(l.Spec(hq("mixed", "alice", "bob"))), "hq").Targets); n != 2 {
				t.Fatalf("%d targets before the change, want 2", n)
			}
			if err := refserver.UpdateConfig(filepath.Join(pc.Dir, "cm2", refserver.NodeConfig), func(c *refserver.Config) error {
				c.Listen = hostile
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			p := l.Plan(l.Spec(hq("mixed", "alice", "bob", "carol")))
			c := clusterOf(t, p, "hq")
			found := false
			for _, w := range c.Warnings {
				found = found || w.Kind == plan.InventoryForeignTarget && w.Server == "cm2" && strings.Contains(w.Message(), "cm2")
			}
			if !found {
				t.Errorf("no warning names cm2 and its foreign address: %+v", c.Warnings)
			}
			for _, tg := range c.Targets {
				if tg.Address == hostile || tg.Server == "cm2" {
					t.Errorf("the foreign address is a target: %+v", tg)
				}
			}
			if len(c.Targets) != 1 {
				t.Errorf("targets %+v, want cm1 only", c.Targets)
			}
			if ents, _ := os.ReadDir(victim); len(ents) != 0 {
				t.Errorf("the victim directory was touched: %v", ents)
			}
		})
	}
}
