package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/provider"
)

// Step 2 of an apply: take every update lock (R24), keep them alive while working, give them
// back at the end, and keep lock ids out of every message.

// lockPoll is how often a held lock is asked for again while --lock-timeout runs.
const lockPoll = 200 * time.Millisecond

// lockAll takes every node's lock in order; on failure the caller releases those taken.
func (o *Options) lockAll(ctx context.Context, nodes []*node) error {
	req := provider.LockRequest{User: o.User, Host: o.Host, Operation: "ctlops apply", Lease: o.Lease}
	for _, n := range nodes {
		deadline := time.Now().Add(o.LockTimeout)
		waiting := false
		for {
			l, err := n.w.Lock(ctx, req)
			if err == nil {
				n.lock = l
				o.event(Event{Kind: "locked", Address: n.addr})
				break
			}
			if !errors.Is(err, provider.ErrLocked) {
				return fmt.Errorf("taking the update lock: %w", err)
			}
			holder := "another client"
			var pe *provider.Error
			if errors.As(err, &pe) && pe.Holder != nil {
				holder = pe.Holder.String()
			}
			if !time.Now().Before(deadline) {
				if o.LockTimeout > 0 {
					return fmt.Errorf("server %s: the update lock is still held by %s after %s (R24); nothing was changed", n.addr, holder, o.LockTimeout)
				}
				return fmt.Errorf("server %s: the update lock is held by %s (R24): another apply is running; nothing was changed. Wait for it, or give --lock-timeout to wait", n.addr, holder)
			}
			if !waiting {
				waiting = true
				fmt.Fprintf(o.Out, "  %s: lock held by %s; waiting up to %s\n", n.addr, holder, time.Until(deadline).Round(time.Second))
				o.event(Event{Kind: "lock-wait", Address: n.addr, Detail: holder})
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(lockPoll):
			}
		}
	}
	return nil
}

// scrub is an error of a request made under n's lock as it may be shown and audited: the
// lock id is a capability (whoever has it can write), so it never appears, even when a
// server quotes it back after the lock was broken mid-push; and the server's text passes
// through termsafe.
func (n *node) scrub(err error) string {
	msg := err.Error()
	if n != nil && n.lock != nil && n.lock.ID != "" {
		msg = strings.ReplaceAll(msg, n.lock.ID, "<lock id>")
	}
	return termsafe.Line(msg)
}

// renew keeps every lock alive while the apply works; losing one cancels the work, and lost
// says which.
func (o *Options) renew(ctx context.Context, cancel context.CancelFunc, nodes []*node) (lost func() error) {
	var mu sync.Mutex
	var lostErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for _, n := range nodes {
				if _, err := n.w.RenewLock(ctx, n.lock.ID, o.Lease); err != nil && ctx.Err() == nil {
					mu.Lock()
					msg := n.scrub(err)
					lostErr = fmt.Errorf("server %s: the update lock was lost while applying (%s); servers may hold different files: run `ctlops plan`", n.addr, msg)
					mu.Unlock()
					cancel()
					return
				}
			}
		}
	}()
	return func() error {
		select {
		case <-done:
		default:
			if ctx.Err() == nil {
				return nil
			}
			<-done
		}
		mu.Lock()
		defer mu.Unlock()
		return lostErr
	}
}

// releaseAll gives back every lock taken, with a context of its own: it runs after an error
// or Ctrl-C too, when the apply's context is already cancelled.
func (o *Options) releaseAll(nodes []*node, res *Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var failed []string
	for _, n := range nodes {
		if n.lock == nil {
			continue
		}
		if err := n.w.ReleaseLock(ctx, n.lock.ID); err != nil && !errors.Is(err, provider.ErrNotLocked) {
			// The lock id is a capability: it stays out of every message.
			msg := n.scrub(err)
			failed = append(failed, fmt.Sprintf("%s (%s)", n.addr, msg))
			continue
		}
		n.lock = nil
	}
	if len(failed) > 0 {
		fmt.Fprintf(o.Out, "warning: could not release the update lock of %s; it expires by itself within %s\n", strings.Join(failed, ", "), o.Lease)
	}
}
