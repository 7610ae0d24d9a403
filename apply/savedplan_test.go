package apply_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
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

// TestSavedPlanExpiryWindow: a saved plan records the expiry window of each cluster's
// warnings; apply with another window is refused naming both windows and the flag, and
// nothing is written. A plan file without the record (an older ctlops) means the default
// window. The controls: the same window applies, and so does an old file with the default.
func TestSavedPlanExpiryWindow(t *testing.T) {
	const day = 24 * time.Hour
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	save := func(window time.Duration, edit func(*plan.Plan)) string {
		t.Helper()
		cfg.Clusters[0].ExpiryWarning = window
		p := l.plan(cfg)
		if w, ok := p.Clusters[0].Window(); !ok || w != window {
			t.Fatalf("plan records window %v (%v), want %v", w, ok, window)
		}
		if edit != nil {
			edit(p)
		}
		path := filepath.Join(l.dir, fmt.Sprintf("w%d.plan", window/time.Hour))
		if err := p.Save(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	try := func(path string, window time.Duration) (string, error) {
		t.Helper()
		cfg.Clusters[0].ExpiryWarning = window
		var out bytes.Buffer
		o := l.opts(cfg, "alice", &out)
		o.PlanFile = path
		_, text, err := l.run(o)
		return text, err
	}
	before := l.digests("hq")
	path := save(60*day, nil)
	text, err := try(path, 30*day)
	var we *apply.WindowError
	if !errors.As(err, &we) || we.Flag != "--expiry-window 60d" {
		t.Fatalf("err %v, want a window error with the flag\n%s", err, text)
	}
	for _, want := range []string{"within 60d, this apply within 30d", "`--expiry-window 60d`", "nothing was written", "cluster hq"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if after := l.digests("hq"); !equalMaps(before, after) {
		t.Errorf("a plan of another window changed servers: %v → %v", before, after)
	}
	l.unlocked("hq")

	// A plan file without the window: the default (30d), and another window is refused.
	old := save(spec.DefaultExpiryWarning, func(p *plan.Plan) { p.Clusters[0].ExpiryWindow = nil })
	if _, err := try(old, 36*time.Hour); !errors.As(err, &we) || !strings.Contains(err.Error(), "within 30d (the default: the plan file records no window") || !strings.Contains(err.Error(), "this apply within 36h0m0s") {
		t.Fatalf("old plan file, another window: err %v", err)
	}
	// Controls: the old file with the default window applies, and so does the 60-day plan
	// with the 60-day window (after the first apply it has nothing left to do, so plan again).
	if text, err := try(old, spec.DefaultExpiryWarning); err != nil {
		t.Fatalf("old plan file, default window: %v\n%s", err, text)
	}
	l.checkServed("hq", "alice")
	if text, err := try(save(60*day, nil), 60*day); err != nil {
		t.Fatalf("same window: %v\n%s", err, text)
	}
}
