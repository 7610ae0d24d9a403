package apply_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// A client died holding the locks (R24): unlock names the holder, asks, breaks the locks of
// every node, records the holders in the audit log, and an apply goes through afterwards.
func TestUnlock(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	pc := l.clusters["hq"]
	ctx := context.Background()
	for _, n := range pc.Nodes() {
		if _, err := pc.Client(n.Name).Lock(ctx, provider.LockRequest{User: "crashed", Host: "pc7", Operation: "ctlops apply", LeaseSec: 3600}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := l.run(l.opts(cfg, "alice", &bytes.Buffer{})); err == nil || !strings.Contains(err.Error(), "crashed@pc7") {
		t.Fatalf("apply with the locks held: %v", err)
	}

	// Nobody to ask, no --auto-approve: nothing is broken.
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.AutoApprove = false
	if _, err := apply.Unlock(ctx, o); !errors.Is(err, apply.ErrInputNeeded) {
		t.Fatalf("unlock without an answer: %v", err)
	}
	// Declined: nothing is broken either.
	o.Confirm = func(string) (bool, error) { return false, nil }
	if _, err := apply.Unlock(ctx, o); !errors.Is(err, apply.ErrDeclined) {
		t.Fatalf("declined unlock: %v", err)
	}
	for _, n := range pc.Nodes() {
		if lk, err := pc.Client(n.Name).GetLock(ctx); err != nil || lk.User != "crashed" {
			t.Fatalf("node %s lock after a declined unlock: %v %v", n.Name, lk, err)
		}
	}

	out.Reset()
	var asked string
	o.Confirm = func(p string) (bool, error) { asked = out.String(); return true, nil }
	broken, err := apply.Unlock(ctx, o)
	if err != nil || len(broken) != 2 {
		t.Fatalf("unlock: %d broken, %v\n%s", len(broken), err, out.String())
	}
	if !strings.Contains(asked, "crashed@pc7 (ctlops apply)") {
		t.Errorf("the holders were not shown before asking:\n%s", asked)
	}
	l.unlocked("hq")
	last := l.auditLines()
	e := last[len(last)-1]
	if e.Result != "unlocked" || len(e.Broken) != 2 || e.Broken[0].Holder.User != "crashed" || e.Broken[0].Holder.ID != "" {
		t.Errorf("audit line %+v", e)
	}
	l.mustApply(cfg, "alice")

	// Nothing held: nothing to do.
	out.Reset()
	if broken, err := apply.Unlock(ctx, o); err != nil || len(broken) != 0 || !strings.Contains(out.String(), "No update lock is held") {
		t.Errorf("unlock with no lock held: %v %v\n%s", broken, err, out.String())
	}
}

// A signer that cannot be opened (no PIN source here) fails before any lock is taken: no
// server is locked or written, and no audit line claims an apply.
func TestSignerPreflight(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	cfg := l.spec(hq("mixed", "alice", "bob", "carol"))
	audits := len(l.auditLines())
	for _, tc := range []struct {
		name string
		tok  apply.TokenOptions
		want string
	}{
		{"missing PIN file", apply.TokenOptions{Label: "alice", PINFile: "/nonexistent/pin"}, "--pin-file"},
		{"missing module", apply.TokenOptions{Label: "alice", Module: "/nonexistent/libpkcs11.so", PINFile: l.pinFile(tokens["alice"].PIN)}, "PKCS#11 module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			o := l.opts(cfg, "alice", &out)
			o.CheckSigner = apply.TokenPreflight(tc.tok)
			o.Progress = func(e apply.Progress) {
				if e.Kind == "locked" || e.Kind == "lock-wait" {
					t.Errorf("a lock was taken (%+v) before the signer was checked", e)
				}
			}
			if _, _, err := l.run(o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one about %s", err, tc.want)
			}
			l.unlocked("hq")
		})
	}
	if got := len(l.auditLines()); got != audits {
		t.Errorf("%d audit lines after preflight failures, want %d", got, audits)
	}
}

// TestUnlockReadOnlySources: unlock on a cluster read through tftp:// and dir:// does not fail;
// ctlops takes no lock there, so there is none to break and it says so.
func TestUnlockReadOnlySources(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	n := l.clusters["hq"].Nodes()[0]
	yaml := "version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers:\n" +
		"      - {url: \"tftp://" + n.TFTPAddr + "\"}\n      - {url: \"dir://" + n.FileLocation() + "\"}\n" +
		"    tokens:\n      - {name: alice, certificate: alice.pem}\n      - {name: bob, certificate: bob.pem}\n"
	path := filepath.Join(l.dir, "ro.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.SpecPath = path
	broken, err := apply.Unlock(context.Background(), o)
	var shown bytes.Buffer
	if err := l.plan(cfg).WriteText(&shown, plan.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	l.captured = append(l.captured, out.String(), shown.String())
	if err != nil || len(broken) != 0 || !strings.Contains(out.String(), "read-only source") {
		t.Fatalf("unlock on read-only sources: %v, %d broken\n%s", err, len(broken), out.String())
	}
}
