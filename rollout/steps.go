package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// errTimeout ends a wait whose deadline passed.
var errTimeout = errors.New("timed out")

// until calls check every Poll until it reports done, within Timeout. A failing check is
// retried (a node restarting its services answers badly for a while) unless the failure is
// fatal; the last failure is in the timeout's error.
func (r *runner) until(ctx context.Context, check func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, r.opt.Timeout)
	defer cancel()
	t := time.NewTicker(r.opt.Poll)
	defer t.Stop()
	var last error
	for {
		done, err := check(ctx)
		switch {
		case err == nil && done:
			return nil
		case err != nil && fatal(err):
			return err
		case err != nil && ctx.Err() == nil: // not the request the deadline itself cut short
			last = err
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				if last != nil {
					return fmt.Errorf("%w after %v (last error: %v)", errTimeout, r.opt.Timeout, last)
				}
				return fmt.Errorf("%w after %v", errTimeout, r.opt.Timeout)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// stop is why a step stopped the rollout short: text is the whole message (Result.Stopped,
// the event's Err), reason the same without the phones it names, phones those the step was
// still waiting for (nil when it stopped for another reason).
type stop struct {
	text, reason string
	phones       []string
}

func stopped(reason string) *stop { return &stop{text: reason, reason: reason} }

// restart restarts one service on one node and waits for it, and for CallManager for the
// phones that were registered to the node, to come back. It returns why it stopped, or nil.
func (r *runner) restart(ctx context.Context, n Node, svc string) (*stop, error) {
	if n.Services == nil {
		return stopped(n.Name + ": no Control Center endpoint declared"), nil
	}
	cur, err := status(ctx, n, svc)
	if err != nil {
		return r.nodeFailed(n, svc, "", nil, err), nil
	}
	if cur != serviceability.Started {
		// Not activated or not running on this node: nothing to restart, nothing touched.
		r.emit(Progress{Kind: KindServiceSkipped, Node: n.Name, Service: svc, Status: cur})
		r.st.Skipped = append(r.st.Skipped, n.Name+" "+svc)
		return nil, nil
	}
	var waiting []string
	origin := map[string]bool{}
	if svc == serviceability.ServiceCallManager {
		phones, err := r.phones(ctx)
		if err != nil {
			return r.nodeFailed(n, svc, cur, nil, fmt.Errorf("phones before the restart: %w", err)), nil
		}
		for _, p := range phones {
			if p.Status == serviceability.Registered && p.Node == n.Name {
				waiting = append(waiting, p.Name)
				origin[p.Name] = true
			}
		}
		r.emit(Progress{Kind: KindPhonesWaiting, Node: n.Name, Service: svc, Phones: waiting})
	}
	at := time.Now()
	if _, err := n.Services.ControlServices(ctx, serviceability.Restart, svc); err != nil {
		return r.nodeFailed(n, svc, cur, nil, err), nil
	}
	r.emit(Progress{Kind: KindServiceRestart, Node: n.Name, Service: svc})

	// Started counts only once the service went through another status or its UpTime is
	// younger than the request: right after the request a node may still report the old run.
	last, restarted := serviceability.ServiceStatus(""), false
	err = r.until(ctx, func(ctx context.Context) (bool, error) {
		resp, err := n.Services.GetServiceStatus(ctx, svc)
		if err != nil {
			return false, err
		}
		info, ok := resp.Find(svc)
		if !ok {
			return false, fmt.Errorf("%s: %s missing from soapGetServiceStatus", n.Name, svc)
		}
		if info.Status != last {
			last = info.Status
			r.emit(Progress{Kind: KindServiceStatus, Node: n.Name, Service: svc, Status: last})
		}
		if info.Status != serviceability.Started {
			restarted = true
			return false, nil
		}
		young := info.UpTime >= 0 && time.Duration(info.UpTime)*time.Second <= time.Since(at)+time.Second
		return restarted || young, nil
	})
	if err != nil {
		return r.nodeFailed(n, svc, last, nil, fmt.Errorf("%s did not reach Started: %w", svc, err)), nil
	}
	r.emit(Progress{Kind: KindServiceStarted, Node: n.Name, Service: svc, Status: serviceability.Started})
	if svc != serviceability.ServiceCallManager {
		return nil, nil
	}
	if r.st.ModeChange {
		r.deferPhones(ctx, n, svc, waiting, at)
		return nil, nil
	}
	// A phone is back when it registered again, to this node or another of its group: it was
	// seen unregistered since the restart, moved, or its registration is no older than the
	// restart request.
	left, err := r.await(ctx, waiting, func(p serviceability.Phone, seenDown bool) bool {
		return seenDown || p.Node != n.Name || p.TimeStamp >= at.Unix()
	})
	if left != nil {
		return r.nodeFailed(n, svc, serviceability.Started, left, err), nil
	}
	r.emit(Progress{Kind: KindPhonesReturned, Node: n.Name, Service: svc, Phones: waiting})
	return nil, nil
}

// DeferReason is why, after a security mode change, a CallManager restart does not wait for
// its phones (Options.ModeChange).
const DeferReason = "the security mode changed, and phones whose security profile asks for encryption register again only after a reset makes them fetch the new CTL; they are verified with the reset batches"

// deferPhones, with ModeChange, looks once at the phones that were registered to n before its
// restart and records those not registered again yet in State.Deferred, for the reset batches
// to verify (KindPhonesDeferred; KindPhonesReturned when every one is back already). It does
// not wait: phones with an encrypted profile cannot come back before their reset. A failed
// look defers them all. Deferred phones join State.Phones, the reset set, if not in it yet.
func (r *runner) deferPhones(ctx context.Context, n Node, svc string, waiting []string, at time.Time) {
	left := waiting
	if phones, err := r.phones(ctx); err == nil {
		by := map[string]serviceability.Phone{}
		for _, p := range phones {
			by[p.Name] = p
		}
		left = nil
		for _, name := range waiting {
			p, ok := by[name]
			if !ok || p.Status != serviceability.Registered || p.Node == n.Name && p.TimeStamp < at.Unix() {
				left = append(left, name)
			}
		}
	}
	if len(left) == 0 {
		r.emit(Progress{Kind: KindPhonesReturned, Node: n.Name, Service: svc, Phones: waiting})
		return
	}
	r.st.Deferred = addSorted(r.st.Deferred, left...)
	// A phone that registered only after the before counts is not in the reset set, yet this
	// restart took it down and only a reset brings it back: it joins the set, as the wait at
	// the node would have held it. Resets start after every restart, so none is under way.
	if r.st.ResetDone == 0 {
		r.st.Phones = addSorted(r.st.Phones, left...)
	}
	r.emit(Progress{Kind: KindPhonesDeferred, Node: n.Name, Service: svc, Phones: left, Reason: DeferReason})
}

func status(ctx context.Context, n Node, svc string) (serviceability.ServiceStatus, error) {
	resp, err := n.Services.GetServiceStatus(ctx, svc)
	if err != nil {
		return "", err
	}
	info, ok := resp.Find(svc)
	if !ok {
		return "", fmt.Errorf("%s: %s missing from soapGetServiceStatus", n.Name, svc)
	}
	return info.Status, nil
}

// nodeFailed reports a node that did not come back and returns why it stopped.
func (r *runner) nodeFailed(n Node, svc string, st serviceability.ServiceStatus, phones []string, err error) *stop {
	reason := err.Error()
	var se *serviceability.Error
	if !errors.As(err, &se) { // a serviceability error names the node already
		reason = n.Name + ": " + reason
	}
	s := stopped(reason)
	if len(phones) > 0 {
		s.text += ": phones not registered again: " + NameList(phones)
		s.phones = phones
	}
	r.emit(Progress{Kind: KindNodeFailed, Node: n.Name, Service: svc, Status: st, Phones: phones, Err: s.text})
	return s
}

// await polls RisPort70 until every named phone is Registered and back(p, seenDown) holds;
// it returns the phones still missing (nil when all came back) and the wait's error.
func (r *runner) await(ctx context.Context, want []string, back func(p serviceability.Phone, seenDown bool) bool) ([]string, error) {
	if len(want) == 0 {
		return nil, nil
	}
	down := map[string]bool{}
	var left []string
	err := r.until(ctx, func(ctx context.Context) (bool, error) {
		phones, err := r.phones(ctx)
		if err != nil {
			return false, err
		}
		by := map[string]serviceability.Phone{}
		for _, p := range phones {
			by[p.Name] = p
		}
		left = left[:0]
		for _, name := range want {
			p, ok := by[name]
			if !ok || p.Status != serviceability.Registered {
				down[name] = true
				left = append(left, name)
				continue
			}
			if !back(p, down[name]) {
				left = append(left, name)
			}
		}
		return len(left) == 0, nil
	})
	if err == nil {
		return nil, nil
	}
	if len(left) == 0 {
		left = want
	}
	return append([]string(nil), left...), err
}

// resets resets the phones in batches, each waited for before the next.
func (r *runner) resets(ctx context.Context) (*stop, error) {
	if r.c.Resetter == nil {
		return stopped(r.c.Name + ": no AXL endpoint declared to reset phones with"), nil
	}
	size := r.opt.Batch
	if size <= 0 {
		size = (len(r.st.Phones) + 9) / 10
	}
	if size < 1 {
		size = 1
	}
	total := (len(r.st.Phones) + size - 1) / size
	for r.st.ResetDone < len(r.st.Phones) {
		start := r.st.ResetDone
		end := min(start+size, len(r.st.Phones))
		batch := r.st.Phones[start:end]
		num := start/size + 1
		at := time.Now()
		for _, name := range batch {
			if err := r.c.Resetter.DoDeviceReset(ctx, name); err != nil {
				s := stopped(fmt.Sprintf("batch %d/%d: reset %s: %s", num, total, termsafe.Line(name), err))
				r.emit(Progress{Kind: KindBatchFailed, Batch: num, Batches: total, Phones: []string{name}, Err: s.text})
				return s, nil
			}
		}
		r.emit(Progress{Kind: KindBatchReset, Batch: num, Batches: total, Phones: batch})
		// A reset always drops the registration, for longer than a poll on a real phone: a
		// phone counts as back once seen unregistered, or registered later than the reset's
		// second (a registration from that same second may predate the reset).
		left, err := r.await(ctx, batch, func(p serviceability.Phone, seenDown bool) bool {
			return seenDown || p.TimeStamp > at.Unix()
		})
		if left != nil {
			s := &stop{text: fmt.Sprintf("batch %d/%d: phones not registered again: %s (%v)", num, total, NameList(left), err),
				reason: fmt.Sprintf("batch %d/%d: %v", num, total, err), phones: left}
			r.emit(Progress{Kind: KindBatchFailed, Batch: num, Batches: total, Phones: left, Err: s.text})
			return s, nil
		}
		r.st.ResetDone = end
		if err := r.save(); err != nil {
			return nil, err
		}
		r.emit(Progress{Kind: KindBatchRegistered, Batch: num, Batches: total, Phones: batch})
	}
	return nil, nil
}

// MaxNamed bounds the phones a line names (a progress line, a stop's text, apply's problem
// line): a cluster has thousands of phones, and the full lists are in State and Result.
const MaxNamed = 10

// NameList names the first MaxNamed phones of list, terminal-safe, and counts the rest.
func NameList(list []string) string {
	n := min(len(list), MaxNamed)
	out := make([]string, n)
	for i, s := range list[:n] {
		out[i] = termsafe.Line(s)
	}
	if len(list) > n {
		return strings.Join(out, ", ") + fmt.Sprintf(" and %d more", len(list)-n)
	}
	return strings.Join(out, ", ")
}
