package live

import (
	"context"
	"time"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
)

// heldLock reads a server's update lock (R24) for plan and drift to show. It is best effort:
// a server without locks, or one that cannot answer, shows none; reading a lock never takes
// or changes it, and its id (a secret) is dropped here.
func (f *fetcher) heldLock(ctx context.Context, r provider.Reader) *plan.HeldLock {
	lr, ok := r.(provider.LockReader)
	if !ok {
		return nil
	}
	var l *provider.Lock
	if err := f.do(ctx, func(ctx context.Context) (err error) { l, err = lr.GetLock(ctx); return }); err != nil || l == nil {
		return nil
	}
	return &plan.HeldLock{Holder: l.User + "@" + l.Host, Operation: l.Operation, Taken: l.Created, Expires: l.Expires,
		Expired: !l.Expires.IsZero() && time.Now().After(l.Expires)}
}
