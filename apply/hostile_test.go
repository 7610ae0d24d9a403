package apply_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
)

// TestHostileServerNameInReport: a server whose inventory names it with an escape sequence
// and a bidi override is shown filtered in every line of apply's output, the report of what
// each server now holds included, and unlock's list of the locks it breaks; both go through.
func TestHostileServerNameInReport(t *testing.T) {
	const name = "cm2\x1b[2J\u202e"
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	pc := l.clusters["hq"]
	if err := refserver.UpdateConfig(filepath.Join(pc.Dir, "cm2", refserver.NodeConfig), func(c *refserver.Config) error {
		c.Name = name
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, text, err := l.run(l.opts(cfg, "alice", &out))
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, text)
	}
	found := false
	for _, tg := range res.Clusters[0].Targets {
		found = found || tg.Server == name
	}
	if !found {
		t.Fatalf("no target is named %q (the test would prove nothing): %+v", name, res.Clusters[0].Targets)
	}
	if strings.ContainsAny(text, "\x1b\u202e") {
		t.Errorf("apply's output holds raw control characters:\n%q", text)
	}
	for _, want := range []string{`cm2\x1b[2J\u202e  `, `Security mode set to mixed on cm1, cm2\x1b[2J\u202e (R10, R11).`} {
		if !strings.Contains(text, want) {
			t.Errorf("output does not show %q:\n%s", want, text)
		}
	}

	// The audit line keeps the name, escaped: shown on a terminal it drives nothing.
	raw, err := os.ReadFile(filepath.Join(l.dir, ".ctlops", "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(raw), "\x1b\u202e") {
		t.Errorf("the audit log holds raw control characters:\n%q", raw)
	}
	named := false
	for _, e := range l.auditLines() {
		for _, c := range e.Details {
			for _, tg := range c.Targets {
				named = named || tg.Server == name
			}
		}
	}
	if !named {
		t.Errorf("no audit line names the server as it is named:\n%s", raw)
	}

	ctx := context.Background()
	if _, err := pc.Client("cm2").Lock(ctx, provider.LockRequest{User: "crashed", Host: "pc7", Operation: "ctlops apply", LeaseSec: 3600}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if broken, err := apply.Unlock(ctx, l.opts(cfg, "alice", &out)); err != nil || len(broken) != 1 {
		t.Fatalf("unlock: %v %+v\n%s", err, broken, out.String())
	}
	text = out.String()
	if strings.ContainsAny(text, "\x1b\u202e") || !strings.Contains(text, `  cm2\x1b[2J\u202e: broke the lock of crashed@pc7`) {
		t.Errorf("unlock's output does not show the name filtered:\n%q", text)
	}
}
