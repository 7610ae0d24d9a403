package live

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ctlops/ctlops/provider"
)

// fakeReader counts CTL reads; its answer is its name.
type fakeReader struct {
	name  string
	reads atomic.Int32
	err   error
}

func (r *fakeReader) Name() string { return r.name }
func (r *fakeReader) Cluster(context.Context) (*provider.Inventory, error) {
	return nil, errors.ErrUnsupported
}
func (r *fakeReader) CTL(context.Context) ([]byte, string, error) {
	r.reads.Add(1)
	return []byte(r.name), "", r.err
}

// Every declared reader is read once, ahead; read() gets each copy (or its error) once and
// reads itself what was not prefetched.
func TestPrefetchHandsOutEachReadOnce(t *testing.T) {
	a, b := &fakeReader{name: "a:1"}, &fakeReader{name: "b:1", err: provider.ErrNoCTL}
	dup := &fakeReader{name: "a:1"} // a second declaration of a's address is not read again
	other := &fakeReader{name: "c:1"}
	f := &fetcher{sem: make(chan struct{}, 1)} // one request at a time: take must not hold a slot
	ctx := context.Background()
	p := f.prefetch(ctx, []provider.Reader{a, b, dup})
	defer p.stop()
	if _, err, ok := p.take(ctx, b); !ok || !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("take(b) = %v, %v: the prefetched error is the answer", err, ok)
	}
	// a is asked for the inventory: its read waits for that request's connection.
	if n := a.reads.Load(); n != 0 {
		t.Fatalf("the inventory's reader was read %d times before the inventory had a connection", n)
	}
	_, asked := p.inventoryContext(ctx)
	asked()
	if data, err, ok := p.take(ctx, a); !ok || err != nil || string(data) != "a:1" {
		t.Fatalf("take(a) = %q, %v, %v", data, err, ok)
	}
	if _, _, ok := p.take(ctx, a); ok {
		t.Fatal("a's copy was handed out twice")
	}
	if _, _, ok := p.take(ctx, other); ok {
		t.Fatal("a reader that was not prefetched got a copy")
	}
	if n := a.reads.Load() + dup.reads.Load(); n != 1 {
		t.Fatalf("a's address read %d times, want 1", n)
	}
	var none *prefetch
	if _, _, ok := none.take(ctx, a); ok {
		t.Fatal("no prefetch, yet a copy")
	}
}
