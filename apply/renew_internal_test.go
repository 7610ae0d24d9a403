package apply

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
)

// renewWriter answers RenewLock with err; the rest of provider.Writer is never called.
type renewWriter struct {
	provider.Writer
	err    error
	renews atomic.Int32
}

func (w *renewWriter) RenewLock(context.Context, string, time.Duration) (*provider.Lock, error) {
	w.renews.Add(1)
	return &provider.Lock{}, w.err
}

// A server that stops answering is left out of the renewals, the work goes on, and the others'
// locks are still renewed; a server that answers with a refusal is a lost lock: the work is
// cancelled and lost names it (the control).
func TestRenewSkipsServersThatDoNotAnswer(t *testing.T) {
	dead := &provider.Error{Server: "cm3:2444", Op: "renew lock", Err: errors.New("dial tcp: connection refused")}
	refused := &provider.Error{Server: "cm2:2444", Op: "renew lock", Status: 409, Code: provider.CodeLockLost, Err: provider.ErrNotLocked}
	for _, c := range []struct {
		name     string
		err      error
		wantLost bool
	}{{"no answer", dead, false}, {"refused", refused, true}} {
		t.Run(c.name, func(t *testing.T) {
			bad, good := &renewWriter{err: c.err}, &renewWriter{}
			nodes := []*node{{addr: "bad", w: bad, lock: &provider.Lock{ID: "a"}}, {addr: "good", w: good, lock: &provider.Lock{ID: "b"}}}
			o := &Options{Lease: 30 * time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lost := o.renew(ctx, cancel, nodes)
			deadline := time.Now().Add(10 * time.Second)
			for good.renews.Load() < 3 && ctx.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			err := lost()
			if c.wantLost {
				if err == nil || !strings.Contains(err.Error(), "lock was lost") {
					t.Fatalf("a refused renewal: lost() = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("a server that does not answer cancelled the work: %v", err)
			}
			if n := bad.renews.Load(); n != 1 {
				t.Errorf("the silent server was asked %d times, want once", n)
			}
			if good.renews.Load() < 3 {
				t.Errorf("the answering server's lock was renewed %d times", good.renews.Load())
			}
		})
	}
}
