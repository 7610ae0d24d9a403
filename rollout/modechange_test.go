package rollout

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

var allPhones = []string{"SEP000000000001", "SEP000000000002", "SEP000000000003", "SEP000000000004"}

// TestModeChange: every phone of the lab needs a reset to register again, as encrypted phones
// do after a security mode change. The positive control, without ModeChange, shows the
// problem the option solves: the rollout waits at the first CallManager node until the
// timeout and stops there, with the nodes after it untouched. With it, the restarts wait for
// the service only, name the phones deferred and why, and the resets bring every phone back.
func TestModeChange(t *testing.T) {
	for _, tc := range []struct {
		name       string
		modeChange bool
		status     string
		stopped    string   // in Result.Stopped
		restarted  []string // CallManager restarts, in order
		deferred   []string
	}{
		{name: "without ModeChange (control: the old limit)", status: Incomplete,
			stopped:   "cm2: timed out after 400ms: phones not registered again: SEP000000000001, SEP000000000002",
			restarted: []string{"cm2"}},
		{name: "with ModeChange", modeChange: true, status: Applied,
			restarted: []string{"cm2", "cm3", "cm1"}, deferred: allPhones},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, nil)
			l.dev.NeedReset(allPhones...)
			res, err := Run(context.Background(), l.c, l.opts(Options{RestartServices: true, ResetDevices: true, Batch: 2,
				ModeChange: tc.modeChange, Timeout: 400 * time.Millisecond}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || !strings.Contains(res.Stopped, tc.stopped) || (tc.stopped == "") != (res.Stopped == "") {
				t.Fatalf("status %q, stopped %q; want %q, %q", res.Status, res.Stopped, tc.status, tc.stopped)
			}
			if got := l.restarts(serviceability.ServiceCallManager); !reflect.DeepEqual(got, tc.restarted) {
				t.Errorf("CallManager restarted on %v, want %v", got, tc.restarted)
			}
			if !reflect.DeepEqual(res.State.Deferred, tc.deferred) || res.State.ModeChange != tc.modeChange {
				t.Errorf("state: mode change %v, deferred %v", res.State.ModeChange, res.State.Deferred)
			}
			if !tc.modeChange {
				if !reflect.DeepEqual(res.Missing, allPhones[:2]) || res.State.ResetDone != 0 {
					t.Errorf("control: missing %v, reset %d", res.Missing, res.State.ResetDone)
				}
				if res.StopReason != "cm2: timed out after 400ms" || !reflect.DeepEqual(res.StopPhones, allPhones[:2]) {
					t.Errorf("control: stop reason %q, phones %v", res.StopReason, res.StopPhones)
				}
				return
			}
			if len(res.Missing) != 0 || res.After.Registered != 4 || res.State.ResetDone != 4 || !res.State.Complete {
				t.Errorf("missing %v, after %v, reset %d", res.Missing, res.After, res.State.ResetDone)
			}
			var deferred []string
			for _, e := range l.events {
				switch e.Kind {
				case KindPhonesDeferred:
					if e.Reason != DeferReason {
						t.Errorf("reason %q", e.Reason)
					}
					deferred = append(deferred, e.Node+" "+strings.Join(e.Phones, ","))
				case KindPhonesReturned: // cm1 had no phone to wait for
					if e.Node != "cm1" || len(e.Phones) != 0 {
						t.Errorf("a restart waited for phones: %+v", e)
					}
				}
			}
			want := []string{"cm2 SEP000000000001,SEP000000000002", "cm3 SEP000000000003,SEP000000000004"}
			if !reflect.DeepEqual(deferred, want) {
				t.Errorf("deferred events %q, want %q", deferred, want)
			}
		})
	}
}

// A phone that does not come back even after its reset is still counted: deferring its wait
// at the restart does not excuse it in the end.
func TestModeChangeStillCountsEveryPhone(t *testing.T) {
	l := newLab(t, nil)
	l.dev.NeedReset(allPhones...)
	l.dev.Break("SEP000000000004")
	res, err := Run(context.Background(), l.c, l.opts(Options{RestartServices: true, ResetDevices: true, Batch: 4,
		ModeChange: true, Timeout: 400 * time.Millisecond}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete || !reflect.DeepEqual(res.Missing, []string{"SEP000000000004"}) ||
		!strings.Contains(res.Stopped, "batch 1/1: phones not registered again: SEP000000000004") {
		t.Errorf("%+v", res)
	}
}

// Restarts after a mode change without the resets are refused before anything is touched.
func TestModeChangeWithoutResetsRefused(t *testing.T) {
	l := newLab(t, nil)
	for _, st := range []*State{nil, {Version: StateVersion, Cluster: "hq", ModeChange: true}} {
		opt := l.opts(Options{RestartServices: true, ModeChange: st == nil})
		if _, err := Run(context.Background(), l.c, opt, st); !errors.Is(err, ErrModeChangeNeedsResets) || !strings.HasPrefix(err.Error(), "hq: ") {
			t.Errorf("state %+v: %v", st, err)
		}
	}
	if h := l.sim.History(); len(h) != 0 {
		t.Errorf("services touched: %v", h)
	}
	// Resets alone after a mode change are what an admin who restarted by hand asks for.
	res, err := Run(context.Background(), l.c, l.opts(Options{ResetDevices: true, ModeChange: true}), nil)
	if err != nil || res.Status != Applied {
		t.Fatalf("%v %+v", err, res)
	}
}

// Interrupted after the first CallManager node of a mode change, the rollout resumes from its
// state the same way although the resuming run does not say ModeChange itself (an old state
// file, without the field, resumes as before: TestOldStateResumesAsBefore).
func TestModeChangeResume(t *testing.T) {
	l := newLab(t, nil)
	l.dev.NeedReset(allPhones...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var saved string
	opt := l.opts(Options{RestartServices: true, ResetDevices: true, Batch: 2, Timeout: 400 * time.Millisecond})
	emit := opt.Emit
	opt.Emit = func(e Progress) {
		emit(e)
		if e.Kind == KindPhonesDeferred && e.Node == "cm2" {
			cancel() // the process dies here; only the saved state survives
		}
	}
	opt.Save = func(s *State) error {
		var err error
		saved, err = s.Encode()
		return err
	}
	first := opt
	first.ModeChange = true
	res, err := Run(ctx, l.c, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete {
		t.Fatalf("%+v", res)
	}
	st, err := DecodeState(saved)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModeChange || !reflect.DeepEqual(st.CallManagerDone, []string{"cm2"}) || !reflect.DeepEqual(st.Deferred, allPhones[:2]) {
		t.Fatalf("state %+v", st)
	}
	opt.Emit = emit
	res, err = Run(context.Background(), l.c, opt, st)
	if err != nil || res.Status != Applied || len(res.Missing) != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if got := l.restarts(serviceability.ServiceCallManager); !reflect.DeepEqual(got, []string{"cm2", "cm3", "cm1"}) {
		t.Errorf("CallManager restarted on %v", got)
	}
	if !reflect.DeepEqual(res.State.Deferred, allPhones) || res.State.ResetDone != 4 {
		t.Errorf("state %+v", res.State)
	}
}

// A state file written before ModeChange existed loads with it false and resumes as it began:
// at a CallManager node, the phones are waited for.
func TestOldStateResumesAsBefore(t *testing.T) {
	l := newLab(t, nil)
	old := `{"version":1,"cluster":"hq","before":{"total":4,"registered":4,"by_status":{"Registered":4},"by_protocol":{"SIP":4},"by_node":{"cm2":2,"cm3":2}},` +
		`"phones":["SEP000000000001","SEP000000000002","SEP000000000003","SEP000000000004"],"tftp_done":["cm1","cm2","cm3"],"callmanager_done":["cm2"],"stopped":"cm3: ..."}`
	st, err := DecodeState(old)
	if err != nil {
		t.Fatal(err)
	}
	if st.ModeChange || st.Deferred != nil {
		t.Fatalf("old state: %+v", st)
	}
	l.dev.NeedReset(allPhones...)
	res, err := Run(context.Background(), l.c, l.opts(Options{RestartServices: true, ResetDevices: true, Timeout: 300 * time.Millisecond}), st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Incomplete || !strings.Contains(res.Stopped, "cm3: timed out after 300ms: phones not registered again: SEP000000000003, SEP000000000004") || res.State.ModeChange {
		t.Errorf("%+v", res)
	}
}

// restarts lists the nodes whose service was restarted, in order.
func (l *lab) restarts(svc string) []string {
	var out []string
	for _, tr := range l.sim.History() {
		if tr.Service == svc && tr.Status == serviceability.Stopping {
			out = append(out, tr.Node)
		}
	}
	return out
}

// A phone that registers only after the before counts and is on a node when its CallManager
// restarts is taken down by it like the others; with the wait deferred, it joins the reset
// set, so it is reset and verified too, as the wait at the node would have verified it.
func TestModeChangeLatePhoneIsReset(t *testing.T) {
	l := newLab(t, nil)
	late := "SEP000000000004"
	l.dev.NeedReset(allPhones[:3]...)
	l.dev.TFTPChanged("cm1", false) // the phone resets while its TFTP server is down ...
	if err := l.dev.Reset(late); err != nil {
		t.Fatal(err)
	}
	opt := l.opts(Options{RestartServices: true, ResetDevices: true, Batch: 2, ModeChange: true})
	emit := opt.Emit
	opt.Emit = func(e Progress) {
		emit(e)
		switch {
		case e.Kind == KindPhonesWaiting && e.Node == "cm2":
			// ... and registers once TFTP was restarted, after the before counts.
			eventually(t, func() bool { p, _ := l.dev.Phone(late); return p.Status == "Registered" && p.Node == "cm3" })
		case e.Kind == KindPhonesWaiting && e.Node == "cm3":
			if !strings.Contains(strings.Join(e.Phones, ","), late) {
				t.Errorf("cm3 had %v before its restart", e.Phones)
			}
			l.dev.NeedReset(late)
		}
	}
	res, err := Run(context.Background(), l.c, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Before.Registered != 3 || res.Status != Applied || res.After.Registered != 4 {
		t.Fatalf("before %v, %s, after %v: %s", res.Before, res.Status, res.After, res.Stopped)
	}
	if !reflect.DeepEqual(res.State.Phones, allPhones) || !reflect.DeepEqual(res.State.Deferred, allPhones) || res.State.ResetDone != 4 {
		t.Errorf("state %+v", res.State)
	}
}
