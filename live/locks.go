package live

import (
	"context"
	"errors"
	"time"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
)

// readFile reads a server's file and its update lock (R24), for plan and drift to show: in
// one request where the server says its lock with the file (provider.CTLLockReader), else
// through GetLock beside the file, so that a lock never costs a round trip of its own.
func (f *fetcher) readFile(ctx context.Context, r provider.Reader) (data []byte, lock *plan.HeldLock, err error) {
	lr, ok := r.(provider.CTLLockReader)
	if !ok {
		held := make(chan *plan.HeldLock, 1)
		go func() { held <- f.heldLock(ctx, r) }()
		err = f.do(ctx, func(ctx context.Context) (err error) { data, _, err = r.CTL(ctx); return })
		return data, <-held, err
	}
	var l *provider.Lock
	told := false
	err = f.do(ctx, func(ctx context.Context) (err error) { data, _, l, told, err = lr.CTLAndLock(ctx); return })
	switch {
	case told:
		return data, shownLock(l), err
	case err == nil || errors.Is(err, provider.ErrNoCTL):
		// A server that did not say (TFTP, a directory: no locks, answered without a request;
		// or one without the header, or with no file to answer with).
		return data, f.heldLock(ctx, r), err
	}
	return data, nil, err
}

// heldLock reads a server's update lock by itself. It is best effort: a server without
// locks, or one that cannot answer, shows none; reading a lock never takes or changes it.
func (f *fetcher) heldLock(ctx context.Context, r provider.Reader) *plan.HeldLock {
	lr, ok := r.(provider.LockReader)
	if !ok {
		return nil
	}
	var l *provider.Lock
	if err := f.do(ctx, func(ctx context.Context) (err error) { l, err = lr.GetLock(ctx); return }); err != nil {
		return nil
	}
	return shownLock(l)
}

// shownLock is a lock as the plan shows it; its id (a secret) is dropped here.
func shownLock(l *provider.Lock) *plan.HeldLock {
	if l == nil {
		return nil
	}
	return &plan.HeldLock{Holder: l.User + "@" + l.Host, Operation: l.Operation, Taken: l.Created, Expires: l.Expires,
		Expired: !l.Expires.IsZero() && time.Now().After(l.Expires)}
}
