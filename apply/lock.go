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
	req := provider.LockRequest{User: o.User, Host: o.Host, Operation: holderOp(), Lease: o.Lease}
	for _, n := range nodes {
		deadline := time.Now().Add(o.LockTimeout)
		waiting, tookOver := false, false
		for {
			l, err := n.w.Lock(ctx, req)
			if waiting && err == nil || waiting && !errors.Is(err, provider.ErrLocked) {
				o.lockWait(n.addr, 0)
			}
			if err == nil {
				n.lock = l
				o.event(Progress{Kind: "locked", Address: n.addr})
				break
			}
			if !errors.Is(err, provider.ErrLocked) {
				return fmt.Errorf("taking the update lock: %w", err)
			}
			var holder *provider.Lock
			var pe *provider.Error
			if errors.As(err, &pe) {
				holder = pe.Holder
			}
			if o.ownDead(holder) && !tookOver {
				if err := o.takeOver(ctx, n, holder); err != nil {
					return err
				}
				tookOver = true
				continue // ask again at once: the lock is free now
			}
			if !time.Now().Before(deadline) {
				if waiting {
					o.lockWait(n.addr, 0)
				}
				return o.lockError(n, holder)
			}
			if !waiting {
				waiting = true
				fmt.Fprintf(o.Out, "  %s: lock held by %s; waiting up to %s\n", n.addr, describeHolder(holder, time.Now()), time.Until(deadline).Round(time.Second))
				o.event(Progress{Kind: "lock-wait", Address: n.addr, Detail: describeHolder(holder, time.Now())})
			}
			o.lockWait(n.addr, time.Until(deadline))
			select {
			case <-ctx.Done():
				o.lockWait(n.addr, 0)
				return ctx.Err()
			case <-time.After(lockPoll):
			}
		}
	}
	return nil
}

// lockWait tells o.LockWait how long the wait for addr's lock may still last; 0 when it ended.
func (o *Options) lockWait(addr string, left time.Duration) {
	if o.LockWait != nil {
		o.LockWait(addr, left)
	}
}

// ownDead reports whether holder is an apply of this user on this host whose process no
// longer runs (holder.go).
func (o *Options) ownDead(holder *provider.Lock) bool {
	if holder == nil || holder.User != o.User || holder.Host != o.Host {
		return false
	}
	pid, start, ok := parseHolderOp(holder.Operation)
	return ok && processGone(pid, start)
}

// takeOver breaks a lock left by this user's own dead apply, says so and records it for the
// audit line. A lock released meanwhile is nothing to break.
func (o *Options) takeOver(ctx context.Context, n *node, holder *provider.Lock) error {
	was, err := n.w.BreakLock(ctx)
	switch {
	case errors.Is(err, provider.ErrNotLocked):
		return nil
	case err != nil:
		return fmt.Errorf("server %s: taking over the lock of an earlier apply of %s@%s that no longer runs: %s", n.addr, o.User, o.Host, termsafe.Error(err))
	}
	if was == nil {
		was = holder
	}
	h := *was
	h.ID = "" // a lock id is a capability: never recorded
	fmt.Fprintf(o.Out, "  %s: the update lock was left by an earlier apply of yours (%s) whose process no longer runs on this host; taken over\n", n.addr, &h)
	o.takenOver = append(o.takenOver, BrokenLock{Cluster: strings.Join(n.clusters, ","), Address: n.addr, Holder: &h})
	return nil
}

// lockError says who holds the lock, whether its lease has run out, and the exact command
// that breaks it once the admin knows its holder is gone.
func (o *Options) lockError(n *node, holder *provider.Lock) error {
	now := time.Now()
	who := describeHolder(holder, now)
	unlock := "ctlops unlock"
	if o.SpecPath != "" {
		unlock += " -f " + shellQuote(o.SpecPath)
	}
	for _, c := range n.clusters {
		unlock += " --cluster " + shellQuote(c)
	}
	what := "another apply may be running: wait for it, or give --lock-timeout to wait"
	if o.LockTimeout > 0 {
		what = fmt.Sprintf("still held after waiting %s", o.LockTimeout)
	}
	return fmt.Errorf("server %s: the update lock is held by %s (R24); %s; nothing was changed. If its holder is gone, break the lock with `%s`",
		n.addr, who, what, unlock)
}

// describeHolder names a lock's holder and the state of its lease.
func describeHolder(l *provider.Lock, now time.Time) string {
	if l == nil {
		return "another client (the server did not say who)"
	}
	lease := fmt.Sprintf("lease expires in %s", l.Expires.Sub(now).Round(time.Second))
	if !l.Expires.After(now) {
		lease = fmt.Sprintf("its lease EXPIRED %s ago: its holder stopped renewing it", now.Sub(l.Expires).Round(time.Second))
	}
	return fmt.Sprintf("%s@%s (%s), taken %s, %s", termsafe.Line(l.User), termsafe.Line(l.Host), termsafe.Line(l.Operation),
		l.Created.UTC().Format(time.RFC3339), lease)
}

// shellQuote quotes s for a POSIX shell when it needs it, so the printed command can be
// pasted as it is.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
// says which. A lock is lost when its server answers the renewal with a refusal. A server that
// does not answer at all (it died, the network dropped) is left out of the renewals instead:
// its push fails, or has already been made, and is reported as such; cancelling the pushes to
// the servers that do answer would only leave more of the cluster behind. Its lock lapses at
// the lease, after which the server refuses a write under it.
func (o *Options) renew(ctx context.Context, cancel context.CancelFunc, nodes []*node) (lost func() error) {
	var mu sync.Mutex
	var lostErr error
	done := make(chan struct{})
	gone := map[*node]bool{}
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
				if gone[n] {
					continue
				}
				_, err := n.w.RenewLock(ctx, n.lock.ID, o.Lease)
				var pe *provider.Error
				if err != nil && ctx.Err() == nil && errors.As(err, &pe) && pe.Status == 0 {
					gone[n] = true // no answer: see above
					continue
				}
				if err != nil && ctx.Err() == nil {
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
