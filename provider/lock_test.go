package provider_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

func TestLockContention(t *testing.T) {
	c := providertest.Start(t, 1)
	name := c.Nodes()[0].Name
	a, b := c.Client(name), c.Client(name)
	type res struct {
		who  string
		lock *provider.Lock
		err  error
	}
	out := make(chan res, 2)
	var start sync.WaitGroup
	start.Add(1)
	for who, cl := range map[string]*provider.Client{"alice": a, "bob": b} {
		go func() {
			start.Wait()
			l, err := cl.Lock(ctx(t), provider.LockRequest{User: who, Host: who + "-pc", Operation: "apply", Lease: time.Minute})
			out <- res{who, l, err}
		}()
	}
	start.Done()
	r1, r2 := <-out, <-out
	if (r1.err == nil) == (r2.err == nil) {
		t.Fatalf("both or neither got the lock: %v / %v", r1.err, r2.err)
	}
	win, lose := r1, r2
	if r1.err != nil {
		win, lose = r2, r1
	}
	var pe *provider.Error
	if !errors.Is(lose.err, provider.ErrLocked) || !errors.As(lose.err, &pe) || pe.Status != 409 ||
		pe.Holder == nil || pe.Holder.User != win.who || pe.Holder.Operation != "apply" || pe.Holder.ID != "" {
		t.Fatalf("loser got %v (holder %+v), want 409 naming %s without the lock id", lose.err, pe, win.who)
	}
	if !strings.Contains(lose.err.Error(), win.who+"@"+win.who+"-pc") {
		t.Errorf("error does not say who holds the lock: %v", lose.err)
	}
	// The loser cannot renew or release the winner's lock by guessing; the winner can.
	if _, err := b.RenewLock(ctx(t), "not-the-id", time.Minute); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("renew with a wrong id: %v", err)
	}
	l, err := a.RenewLock(ctx(t), win.lock.ID, 2*time.Minute)
	if err != nil || !l.Expires.After(win.lock.Expires) {
		t.Fatalf("renew: %v %v", l, err)
	}
	if err := a.ReleaseLock(ctx(t), win.lock.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseLock(ctx(t), win.lock.ID); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("second release: %v", err)
	}
	l2, err := b.Lock(ctx(t), provider.LockRequest{User: "bob", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	// An admin breaks a lock left by a crashed apply; the holder's id is then worthless.
	broken, err := a.BreakLock(ctx(t))
	if err != nil || broken.User != "bob" {
		t.Fatalf("break: %v %v", broken, err)
	}
	if _, err := b.RenewLock(ctx(t), l2.ID, time.Minute); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("renew after break: %v", err)
	}
	if _, err := a.BreakLock(ctx(t)); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("break of a free lock: %v", err)
	}
	audit, _ := c.Nodes()[0].Server.Audit()
	var ops []string
	for _, e := range audit {
		ops = append(ops, e.Op)
	}
	if got := strings.Join(ops, ","); got != "take lock,release lock,take lock,break lock" {
		t.Errorf("audit ops = %s", got)
	}
}

func TestLockSurvivesRestart(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	l, err := c.Client(n.Name).Lock(ctx(t), provider.LockRequest{User: "alice", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	c.Restart(n)
	_, err = c.Client(n.Name).Lock(ctx(t), provider.LockRequest{User: "bob"})
	if !errors.Is(err, provider.ErrLocked) {
		t.Fatalf("after restart the lock is gone: %v", err)
	}
	if err := c.Client(n.Name).ReleaseLock(ctx(t), l.ID); err != nil {
		t.Fatal(err)
	}
}
