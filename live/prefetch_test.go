package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	if _, _, err, ok := p.take(ctx, b); !ok || !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("take(b) = %v, %v: the prefetched error is the answer", err, ok)
	}
	// a is asked for the inventory: its read waits for that request's connection.
	if n := a.reads.Load(); n != 0 {
		t.Fatalf("the inventory's reader was read %d times before the inventory had a connection", n)
	}
	_, asked := p.inventoryContext(ctx)
	asked()
	if data, _, err, ok := p.take(ctx, a); !ok || err != nil || string(data) != "a:1" {
		t.Fatalf("take(a) = %q, %v, %v", data, err, ok)
	}
	if _, _, _, ok := p.take(ctx, a); ok {
		t.Fatal("a's copy was handed out twice")
	}
	if _, _, _, ok := p.take(ctx, other); ok {
		t.Fatal("a reader that was not prefetched got a copy")
	}
	if n := a.reads.Load() + dup.reads.Load(); n != 1 {
		t.Fatalf("a's address read %d times, want 1", n)
	}
	var none *prefetch
	if _, _, _, ok := none.take(ctx, a); ok {
		t.Fatal("no prefetch, yet a copy")
	}
}

// lockedReader is a fakeReader whose server holds an update lock.
type lockedReader struct {
	fakeReader
	lockReads atomic.Int32
}

func (r *lockedReader) GetLock(context.Context) (*provider.Lock, error) {
	r.lockReads.Add(1)
	return &provider.Lock{ID: "secret-id", User: "alice", Host: "ws1", Operation: "apply"}, nil
}

// The lock is read with the prefetched file, not after the inventory: take hands it out with
// the copy, its id dropped; the inventory's reader waits for the inventory's connection for
// its lock as for its file, and a reader without locks hands out none.
func TestPrefetchReadsTheLockBesideTheFile(t *testing.T) {
	first, second := &lockedReader{fakeReader: fakeReader{name: "a:1"}}, &lockedReader{fakeReader: fakeReader{name: "b:1"}}
	plain := &fakeReader{name: "c:1"}
	f := &fetcher{sem: make(chan struct{}, 2)}
	ctx := context.Background()
	p := f.prefetch(ctx, []provider.Reader{first, second, plain})
	defer p.stop()
	_, held, err, ok := p.take(ctx, second)
	if !ok || err != nil || held == nil || held.Holder != "alice@ws1" || held.Operation != "apply" {
		t.Fatalf("take(b) = %+v, %v, %v: want alice@ws1's lock with the file", held, err, ok)
	}
	if strings.Contains(fmt.Sprintf("%+v", held), "secret-id") {
		t.Fatalf("the lock id reached the plan: %+v", held)
	}
	if n := first.lockReads.Load(); n != 0 {
		t.Fatalf("the inventory's reader's lock was read %d times before the inventory had a connection", n)
	}
	_, asked := p.inventoryContext(ctx)
	asked()
	if _, held, _, ok := p.take(ctx, first); !ok || held == nil || first.lockReads.Load() != 1 {
		t.Fatalf("take(a): lock %+v, ok %v, %d lock reads", held, ok, first.lockReads.Load())
	}
	if _, held, _, ok := p.take(ctx, plain); !ok || held != nil {
		t.Fatalf("a reader without locks: lock %+v, ok %v", held, ok)
	}
}

// tellingReader says its lock with its file (provider.CTLLockReader), as ctlops' own provider
// does; telling is false for one that does not (an older server).
type tellingReader struct {
	lockedReader
	telling bool
}

func (r *tellingReader) CTLAndLock(ctx context.Context) ([]byte, string, *provider.Lock, bool, error) {
	data, etag, err := r.CTL(ctx)
	if !r.telling {
		return data, etag, nil, false, err
	}
	return data, etag, &provider.Lock{User: "bob", Host: "pc2", Operation: "apply"}, true, err
}

// A server that says its lock with the file is asked once, not twice; one that does not is
// asked for its lock as well (the control: the same reader, not telling).
func TestLockComesWithTheFile(t *testing.T) {
	f := &fetcher{sem: make(chan struct{}, 2)}
	for _, telling := range []bool{true, false} {
		r := &tellingReader{lockedReader: lockedReader{fakeReader: fakeReader{name: "a:1"}}, telling: telling}
		data, held, err := f.readFile(context.Background(), r)
		if err != nil || string(data) != "a:1" || held == nil {
			t.Fatalf("telling %v: %q, %+v, %v", telling, data, held, err)
		}
		want := map[bool]string{true: "bob@pc2", false: "alice@ws1"}[telling]
		lockReads := map[bool]int32{true: 0, false: 1}[telling]
		if held.Holder != want || r.lockReads.Load() != lockReads || r.reads.Load() != 1 {
			t.Errorf("telling %v: holder %s, %d lock reads, %d file reads; want %s, %d, 1", telling, held.Holder, r.lockReads.Load(), r.reads.Load(), want, lockReads)
		}
	}
}
