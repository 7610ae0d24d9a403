package apply_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/token"
)

// TestLockHeld: another client's lock stops the apply at once, naming the holder; with
// --lock-timeout it waits until the lock is released.
func TestLockHeld(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	pc := l.clusters["hq"]
	other := pc.Client(pc.Nodes()[1].Name)
	ctx := context.Background()
	lk, err := other.Lock(ctx, provider.LockRequest{User: "bob-admin", Host: "pc9", Operation: "ctl client", LeaseSec: 60})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, _, err = l.run(l.opts(cfg, "alice", &out))
	if err == nil || !strings.Contains(err.Error(), "bob-admin@pc9") || !strings.Contains(err.Error(), "R24") {
		t.Fatalf("err %v, want the holder named", err)
	}
	for n, d := range l.digests("hq") {
		if d != "" {
			t.Errorf("node %s was written although a lock was held", n)
		}
	}
	// The first node's lock, taken before the held one was met, was given back.
	if _, err := pc.Client(pc.Nodes()[0].Name).GetLock(ctx); !errors.Is(err, provider.ErrNotLocked) {
		t.Errorf("first node left locked: %v", err)
	}
	if got, err := other.GetLock(ctx); err != nil || got.User != "bob-admin" {
		t.Errorf("the other client's lock was touched: %v %v", got, err)
	}

	out.Reset()
	o := l.opts(cfg, "alice", &out)
	o.LockTimeout = 30 * time.Second
	released := false
	o.Progress = func(e apply.Progress) {
		if e.Kind == "lock-wait" && !released {
			released = true
			if err := other.ReleaseLock(context.Background(), lk.ID); err != nil {
				t.Error(err)
			}
		}
	}
	var waits []time.Duration // what the CLI's countdown is told
	o.LockWait = func(_ string, left time.Duration) { waits = append(waits, left) }
	if _, text, err := l.run(o); err != nil || !released {
		t.Fatalf("apply with --lock-timeout: %v (waited: %v)\n%s", err, released, text)
	}
	if len(waits) < 2 || waits[0] <= 0 || waits[0] > 30*time.Second || waits[len(waits)-1] != 0 {
		t.Errorf("the countdown was told %v: want the time left while waiting, then 0", waits)
	}
	l.checkServed("hq", "alice")
	l.unlocked("hq")
}

// TestProviderKilledMidPush: a node dies as its push starts; the others get the file, the
// report says what each holds, and a re-run converges, touching only the laggard.
func TestProviderKilledMidPush(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 3})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	pc := l.clusters["hq"]
	victim := pc.Nodes()[2]
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.Lease = time.Second // the dead node keeps this apply's lock until the lease ends
	o.Progress = func(e apply.Progress) {
		if e.Kind == "push" && e.Address == victim.Addr {
			victim.Stop()
		}
	}
	res, text, err := l.run(o)
	var pe *apply.PushError
	if !errors.As(err, &pe) || pe.Interrupted || len(pe.Failed) != 1 {
		t.Fatalf("err %v, want one failed server\n%s", err, text)
	}
	c := res.Clusters[0]
	for _, tg := range c.Targets {
		switch {
		case tg.Address == victim.Addr && (tg.Status != "failed" || tg.Holds != "?"):
			t.Errorf("victim %+v", tg)
		case tg.Address != victim.Addr && (tg.Status != "updated" || tg.Holds != c.Digest):
			t.Errorf("survivor %+v", tg)
		}
	}
	if !strings.Contains(text, "FAILED") || !strings.Contains(text, "security mode left at non-secure") {
		t.Errorf("report:\n%s", text)
	}
	if a := l.auditLines(); len(a) != 1 || a[0].Result != "partial" {
		t.Errorf("audit %+v", a)
	}

	pc.Restart(victim)
	p := l.plan(cfg)
	pcl := p.Clusters[0]
	if len(pcl.Actions) != 0 || pcl.Summary.Sync != 1 || !pcl.Mode.Changed {
		t.Errorf("re-plan: actions %d, sync %d, mode %+v: want exactly the laggard and the mode", len(pcl.Actions), pcl.Summary.Sync, pcl.Mode)
	}
	for _, tg := range pcl.Targets {
		if (tg.Address == victim.Addr) != (tg.Status != "current") {
			t.Errorf("re-plan target %s status %s", tg.Server, tg.Status)
		}
	}
	survivor := l.digests("hq")[pc.Nodes()[0].Name]

	out.Reset()
	o = l.opts(cfg, "alice", &out)
	o.LockTimeout = 30 * time.Second // until the dead apply's lease on the victim ends
	signed := false
	open := o.OpenSigner
	o.OpenSigner = func(ctx context.Context, r apply.SignerRequest) (token.Signer, error) {
		signed = true
		return open(ctx, r)
	}
	res, text, err = l.run(o)
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, text)
	}
	if signed {
		t.Error("the re-run signed a new file instead of bringing the laggard in line")
	}
	for _, tg := range res.Clusters[0].Targets {
		want := "unchanged"
		if tg.Address == victim.Addr {
			want = "updated"
		}
		if tg.Status != want || tg.Holds != survivor {
			t.Errorf("re-run target %+v, want %s holding %s", tg, want, survivor)
		}
	}
	l.checkServed("hq", "alice")
	for _, n := range pc.Nodes() {
		if m := l.nodeMode("hq", n.Name); m != "mixed" {
			t.Errorf("node %s mode %s after the re-run", n.Name, m)
		}
	}
	l.noChanges(cfg)
	l.unlocked("hq")
}

// TestInterrupted: Ctrl-C during the push releases every lock and reports what each server
// holds; a re-run converges.
func TestInterrupted(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 3})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.Progress = func(e apply.Progress) {
		if e.Kind == "push" {
			cancel()
		}
	}
	res, err := apply.Run(ctx, o)
	l.captured = append(l.captured, out.String())
	var pe *apply.PushError
	if !errors.As(err, &pe) || !pe.Interrupted {
		t.Fatalf("err %v, want an interrupted push\n%s", err, out.String())
	}
	l.captured = append(l.captured, err.Error())
	l.unlocked("hq")
	held := l.digests("hq")
	for _, tg := range res.Clusters[0].Targets {
		for _, n := range l.clusters["hq"].Nodes() {
			if n.Addr == tg.Address && held[n.Name] != tg.Holds {
				t.Errorf("report says %s holds %q, it holds %q", tg.Server, tg.Holds, held[n.Name])
			}
		}
	}
	if a := l.auditLines(); len(a) != 1 || a[0].Result != "interrupted" {
		t.Errorf("audit %+v", a)
	}
	l.mustApply(cfg, "alice")
	l.checkServed("hq", "alice")
	l.noChanges(cfg)
}

// TestTokenFaults: a wrong PIN, a token the installed CTL does not trust, a token without a
// key: each is refused before anything is written.
func TestTokenFaults(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	cfg := l.spec(hq("mixed", "alice", "bob", "carol"))
	before := l.digests("hq")
	for _, tc := range []struct {
		name, label, pin string
		want             []string
	}{
		{"wrong PIN", "dave", "Zz9-not-the-pin", []string{"wrong PIN", `"dave"`}},
		{"untrusted", "mallory", tokens["mallory"].PIN, []string{"not a SAST record", "R19", "alice (", "bob ("}},
		// carol is declared but not yet in the installed CTL: she cannot sign her own entry.
		{"declared, not installed", "carol", tokens["carol"].PIN, []string{"not a SAST record", "alice ("}},
		{"no key", "nokey", tokens["nokey"].PIN, []string{"no private key"}},
		{"absent", "zelda", "whatever1", []string{`no security token with label "zelda"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			o := l.opts(cfg, "alice", &out)
			o.OpenSigner = apply.TokenOpener(apply.TokenOptions{Label: tc.label, PINFile: l.pinFile(tc.pin)})
			_, text, err := l.run(o)
			if err == nil {
				t.Fatalf("applied with %s\n%s", tc.name, text)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), tc.pin) {
				t.Error("the PIN appears in the error")
			}
			if after := l.digests("hq"); !equalMaps(before, after) {
				t.Errorf("servers changed: %v → %v", before, after)
			}
			l.unlocked("hq")
		})
	}
	if a := l.auditLines(); len(a) != 6 || a[5].Result != "failed" {
		t.Errorf("%d audit lines, last %+v", len(a), a[len(a)-1])
	}
}
