package live

import (
	"context"
	"net/http/httptrace"
	"sync"

	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/provider"
)

// prefetch reads the CTL of every declared provider while the inventory is being asked for
// (issue 18: pipeline the reads a cluster needs). The declared providers are nearly always
// the cluster's CallManager and TFTP nodes, whose copies read() needs once the inventory has
// named them; asking for them only then cost one more round trip per cluster, and for a
// fleet one more wave of requests. A prefetched copy is used only for a target read() would
// read through the same reader anyway; one the inventory does not name is dropped unread.
// The reads are the same read-only GETs under the same parallelism bound, so nothing changes
// but when they are sent.
//
// The first reader is the one asked for the inventory: its read waits until that request has
// its connection (or the inventory is done), so that over HTTP/2 both go on one connection
// instead of two handshakes racing to the same node.
type prefetch struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	byName map[string]*prefetched // by Reader.Name, as reuse() matches readers

	ready     chan struct{} // closed once the inventory's connection is up, or it is done
	readyOnce sync.Once
}

type prefetched struct {
	done chan struct{} // closed when data, err and lock are all read
	data []byte
	err  error
	lock *plan.HeldLock // the server's update lock, read beside the file (locks.go)
}

// prefetch starts reading every reader's CTL; stop cancels what is still running.
func (f *fetcher) prefetch(ctx context.Context, readers []provider.Reader) *prefetch {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetch{cancel: cancel, byName: make(map[string]*prefetched, len(readers)), ready: make(chan struct{})}
	for i, r := range readers {
		if _, dup := p.byName[r.Name()]; dup {
			continue
		}
		e := &prefetched{done: make(chan struct{})}
		p.byName[r.Name()] = e
		go func() {
			defer close(e.done)
			if i == 0 {
				select {
				case <-p.ready:
				case <-ctx.Done():
					e.err = ctx.Err()
					return
				}
			}
			e.data, e.lock, e.err = f.readFile(ctx, r) // with its lock: no round trip more
		}()
	}
	return p
}

// inventoryContext is ctx for the inventory request, telling the held-back read when that
// request has its connection; done must be called when the inventory has been asked.
func (p *prefetch) inventoryContext(ctx context.Context) (c context.Context, done func()) {
	release := func() { p.readyOnce.Do(func() { close(p.ready) }) }
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { release() }}), release
}

// take returns the prefetched read of r (its file and its lock), waiting for it, and ok false
// when r was not prefetched (then the caller reads it itself). Each read is handed out once.
func (p *prefetch) take(ctx context.Context, r provider.Reader) (data []byte, lock *plan.HeldLock, err error, ok bool) {
	if p == nil {
		return nil, nil, nil, false
	}
	p.mu.Lock()
	e := p.byName[r.Name()] // the same reader: serverJobs reuses a declared one by name
	delete(p.byName, r.Name())
	p.mu.Unlock()
	if e == nil {
		return nil, nil, nil, false
	}
	select {
	case <-e.done:
		return e.data, e.lock, e.err, true
	case <-ctx.Done():
		return nil, nil, ctx.Err(), true
	}
}

// stop cancels the reads nobody took.
func (p *prefetch) stop() { p.cancel() }
