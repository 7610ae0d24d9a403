package apply_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/apply"
)

// TestStalePlan: a saved plan is refused once a node changed, and nothing is written.
func TestStalePlan(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	cfg := l.spec(hq("mixed", "alice", "bob", "carol"))
	p := l.plan(cfg)
	path := filepath.Join(l.dir, "p.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	l.clusters["hq"].ChangeIP(l.clusters["hq"].Nodes()[0].Name, "192.0.2.55")
	before := l.digests("hq")
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.PlanFile = path
	_, _, err := l.run(o)
	var se *apply.StaleError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "inventory changed") {
		t.Fatalf("err %v, want a stale plan naming the inventory change", err)
	}
	if after := l.digests("hq"); !equalMaps(before, after) {
		t.Errorf("a stale plan changed servers: %v → %v", before, after)
	}
	// --cluster narrows a saved plan to clusters it holds; the subset is checked as well.
	o.Clusters = []string{"hq"}
	if _, _, err := l.run(o); !errors.As(err, &se) {
		t.Errorf("err %v, want the narrowed plan stale too", err)
	}
	o.Clusters = []string{"other"}
	if _, _, err := l.run(o); err == nil || !strings.Contains(err.Error(), "--cluster other") {
		t.Errorf("err %v", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSavedPlanApplied: a fresh saved plan is applied as saved.
func TestSavedPlanApplied(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	path := filepath.Join(l.dir, "p.json")
	if err := l.plan(cfg).Save(path); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.PlanFile = path
	res, text, err := l.run(o)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !strings.Contains(text, "Saved plan "+path) || res.Plan.Created.IsZero() {
		t.Errorf("output does not show the saved plan:\n%s", text)
	}
	l.checkServed("hq", "alice")
	if a := l.auditLines(); len(a) != 1 || a[0].PlanFile != path {
		t.Errorf("audit %+v", a)
	}
}
