package apply_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/plan"
)

// TestEditedPlanFiles: apply decides from the fresh plan and only applies a saved plan that
// is the same plan. Each edit an attacker (or a mistake) could make is refused with a message
// naming it, and no server is written. Edits with the digest recomputed (a deliberate edit)
// reach the canonical comparison; edits without it are named as edits.
func TestEditedPlanFiles(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	cfg := l.spec(hq("mixed", "alice", "bob", "carol"))

	cases := []struct {
		name string
		// setup changes the lab or spec before the plan is made, when the case needs a
		// refusal or a suspension in the fresh plan.
		setup func()
		edit  func(p *plan.Plan)
		raw   func(path string) // edits the saved bytes instead
		want  string
	}{
		{name: "refusals cleared",
			setup: func() { l.clusters["hq"].Tamper(l.clusters["hq"].Nodes()[1].Name, 600) },
			edit: func(p *plan.Plan) {
				p.Clusters[0].Refusals = []plan.Problem{}
			}, want: "clusters[hq].refusals"},
		{name: "suspend cleared",
			setup: func() { cfg.Clusters[0].Suspend = true },
			edit:  func(p *plan.Plan) { p.Clusters[0].Suspended = false }, want: "clusters[hq].suspended"},
		{name: "live digest swapped",
			edit: func(p *plan.Plan) { p.Clusters[0].Live.Digest = strings.Repeat("0", 64) }, want: "clusters[hq].live.digest"},
		{name: "actions emptied",
			edit: func(p *plan.Plan) { p.Clusters[0].Actions = []plan.Change{} }, want: "clusters[hq].actions"},
		{name: "signers added",
			edit: func(p *plan.Plan) {
				p.Clusters[0].Signers = append(p.Clusters[0].Signers, plan.SignerOption{Token: "carol"})
			}, want: "clusters[hq].signers"},
		{name: "hand edit",
			raw: func(path string) {
				replaceIn(t, path, `"suspended"`, `"suspended"`, `"refusals": []`, `"refusals": [ ]`)
			},
			want: "edited after it was saved"},
		{name: "trailing junk",
			raw:  func(path string) { appendTo(t, path, "\n{\"more\": 1}\n") },
			want: "data after the plan at byte offset"},
		{name: "json view",
			raw: func(path string) {
				var b bytes.Buffer
				if err := l.plan(cfg).WriteJSON(&b); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}, want: "not a plan file"},
		{name: "too old",
			edit: func(p *plan.Plan) { p.Created = time.Now().Add(-25 * time.Hour) }, want: "older than --max-plan-age 24h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saveCfg := *cfg.Clusters[0]
			defer func() { *cfg.Clusters[0] = saveCfg }()
			if c.setup != nil {
				c.setup()
			}
			p := l.plan(cfg)
			if c.edit != nil {
				c.edit(p)
			}
			path := filepath.Join(l.dir, strings.ReplaceAll(c.name, " ", "-")+".plan")
			if err := p.Save(path); err != nil {
				t.Fatal(err)
			}
			if c.raw != nil {
				c.raw(path)
			}
			before := l.digests("hq")
			var out bytes.Buffer
			o := l.opts(cfg, "alice", &out)
			o.PlanFile = path
			_, text, err := l.run(o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %q\n%s", err, c.want, text)
			}
			if after := l.digests("hq"); !equalMaps(before, after) {
				t.Errorf("a refused plan file changed servers: %v → %v", before, after)
			}
			l.unlocked("hq")
		})
	}
	// The positive control: an unedited plan file applies (on a lab nobody tampered with).
	l = newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	cfg = l.spec(hq("mixed", "alice", "bob", "carol"))
	path := filepath.Join(l.dir, "clean.plan")
	if err := l.plan(cfg).Save(path); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.PlanFile = path
	if _, text, err := l.run(o); err != nil {
		t.Fatalf("the unedited plan file was refused: %v\n%s", err, text)
	}
}

// TestDurationsValidated: a lease too short to renew is refused before anything is read
// (it used to panic with the locks taken).
func TestDurationsValidated(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	before := l.digests("hq")
	for _, d := range []time.Duration{2 * time.Nanosecond, -time.Second, 500 * time.Millisecond} {
		var out bytes.Buffer
		o := l.opts(cfg, "alice", &out)
		o.Lease = d
		if _, _, err := l.run(o); err == nil || !strings.Contains(err.Error(), "--lock-lease") {
			t.Errorf("lease %s: err %v", d, err)
		}
	}
	if after := l.digests("hq"); !equalMaps(before, after) {
		t.Errorf("a refused apply changed servers")
	}
	l.unlocked("hq")
	// The positive control: the shortest allowed lease applies.
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.Lease = apply.MinLease
	if _, text, err := l.run(o); err != nil {
		t.Fatalf("lease %s: %v\n%s", o.Lease, err, text)
	}
}

func replaceIn(t *testing.T, path string, pairs ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	s = strings.Replace(s, `"changes": true`, `"changes": false`, 1)
	if s == string(b) {
		t.Fatal("the edit changed nothing")
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestSavedPlanServersDown: a saved plan whose servers cannot be reached now is not called
// stale: the error says "cannot reach", one line per server, and nothing is written. The
// positive control is TestEditedPlanFiles' clean plan file, which applies.
func TestSavedPlanServersDown(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	path := filepath.Join(l.dir, "down.plan")
	p := l.plan(cfg)
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	var shown bytes.Buffer
	if err := p.WriteText(&shown, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	l.clusters["hq"].Close()
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.PlanFile = path
	_, text, err := l.run(o)
	l.captured = append(l.captured, shown.String(), text, fmt.Sprint(err)) // scanned for secrets
	if err == nil || !strings.Contains(err.Error(), "cannot be checked against the live clusters") || strings.Contains(err.Error(), "stale") {
		t.Fatalf("err %v\n%s", err, text)
	}
	lines := strings.Split(err.Error(), "\n")
	reach := 0
	for _, ln := range lines[1:] {
		if strings.Contains(ln, "cannot reach") {
			reach++
		}
	}
	if reach != 2 || len(lines) != 3 {
		t.Errorf("want one 'cannot reach' line per server:\n%v", err)
	}
}
